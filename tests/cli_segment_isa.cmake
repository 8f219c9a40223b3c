# ctest helper: `ctspine segment --isa ISA` must write the same segmentation file as the default run (REF), or, on a
# CPU without that instruction set, fail with the "cannot run" error and nothing else.
execute_process(COMMAND ${CLI} segment --model ${MODEL} ${CT} ${OUT} --force --isa ${ISA}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  if(err MATCHES "this CPU cannot run the ${ISA} kernels")
    message(STATUS "skipped: ${err}")
    return()
  endif()
  message(FATAL_ERROR "segment --isa ${ISA} failed (${rc}): ${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${REF} ${OUT} RESULT_VARIABLE same)
if(NOT same EQUAL 0)
  message(FATAL_ERROR "segment --isa ${ISA} wrote a different segmentation than the default kernels")
endif()
