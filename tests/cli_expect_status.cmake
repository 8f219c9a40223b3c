# ctest helper: run `CLI ARGS...` (ARGS: words separated by '|') and require exit status STATUS; with MATCH, the
# combined stdout+stderr must also match that regular expression. CTest's WILL_FAIL only sees "non-zero", so the
# command-line conventions (2 = usage error, 1 = run-time failure) need this.
string(REPLACE "|" ";" _args "${ARGS}")
execute_process(COMMAND ${CLI} ${_args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT "${rc}" STREQUAL "${STATUS}")
  message(FATAL_ERROR "ctspine ${_args}: exit status ${rc}, expected ${STATUS}\nstdout: ${out}\nstderr: ${err}")
endif()
if(DEFINED MATCH AND NOT "${out}${err}" MATCHES "${MATCH}")
  message(FATAL_ERROR "ctspine ${_args}: output does not match '${MATCH}'\nstdout: ${out}\nstderr: ${err}")
endif()
