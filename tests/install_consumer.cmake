# Installs the build tree at BUILD_DIR into a fresh prefix under WORK_DIR, then configures,
# builds and runs the consumer project at CONSUMER_DIR against that prefix only.
#   cmake -DBUILD_DIR=... -DCONSUMER_DIR=... -DWORK_DIR=... [-DCXX_COMPILER=...]
#         [-DGENERATOR=...] [-DSANITIZE=...] [-DTOOLS=OFF] -P install_consumer.cmake
# TOOLS=OFF: the build tree was configured with CERAMIC_TOOLS=OFF, so no tool is installed.
foreach(var BUILD_DIR CONSUMER_DIR WORK_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "install_consumer.cmake: ${var} is not set")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: ${step} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "install_consumer: ${step}: ok")
endfunction()

run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

set(configure_args -S ${CONSUMER_DIR} -B ${build} -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if(GENERATOR)
  list(APPEND configure_args -G ${GENERATOR})
endif()
if(CXX_COMPILER)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
if(SANITIZE)
  # The installed library was built with sanitizers: the consumer must link their runtimes.
  list(APPEND configure_args "-DCMAKE_CXX_FLAGS=-fsanitize=${SANITIZE}"
       "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${SANITIZE}")
endif()
run("configure consumer" ${CMAKE_COMMAND} ${configure_args})
run("build consumer" ${CMAKE_COMMAND} --build ${build})

# The consumer must have found the installed package, not the build tree.
file(STRINGS ${build}/CMakeCache.txt dir_line REGEX "^ceramic_DIR:")
string(FIND "${dir_line}" "${prefix}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "install_consumer: ceramic was not found in ${prefix}: ${dir_line}")
endif()

run("run consumer" ${build}/ceramic-install-consumer)
run("run sim consumer" ${build}/ceramic-install-consumer-sim)
if(NOT DEFINED TOOLS OR TOOLS)
  foreach(tool ceramic-run ceramic-trace ceramic-sim)
    run("installed ${tool} --help" ${prefix}/bin/${tool} --help)
  endforeach()
else()
  foreach(tool ceramic-run ceramic-trace ceramic-sim)
    if(EXISTS ${prefix}/bin/${tool})
      message(FATAL_ERROR "install_consumer: ${tool} installed although CERAMIC_TOOLS is OFF")
    endif()
  endforeach()
  message(STATUS "install_consumer: no tools installed (CERAMIC_TOOLS=OFF): ok")
endif()
