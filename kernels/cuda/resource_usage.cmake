# Writes nvcc's --resource-usage report for one .cu file (registers, stack frame and spills
# of every kernel, as ptxas prints them) to OUTPUT, for tests/cuda_resource. Run by the
# cudp_resource_usage target in kernels/CMakeLists.txt:
#   cmake -DNVCC=<nvcc> -DSOURCE=<file.cu> -DOUTPUT=<report.txt> -DINCLUDE=<repo root>
#         -DARCH=90 -P resource_usage.cmake
# The report is written only when nvcc succeeds, so a stale or partial one never passes.
foreach(var NVCC SOURCE OUTPUT INCLUDE ARCH)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "resource_usage.cmake: -D${var}=... is required")
  endif()
endforeach()
set(object "${OUTPUT}.o")
execute_process(
  COMMAND "${NVCC}" --resource-usage "-arch=sm_${ARCH}" -std=c++17 "-I${INCLUDE}"
          -DCUDP_HAVE_CUDA=1 --expt-relaxed-constexpr -c "${SOURCE}" -o "${object}"
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE rc)
file(REMOVE "${object}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nvcc --resource-usage failed on ${SOURCE} (exit ${rc}):\n${out}${err}")
endif()
file(WRITE "${OUTPUT}.tmp" "${out}${err}")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
