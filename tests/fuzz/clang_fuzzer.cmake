# julier_clang_fuzzer(NAME SOURCES src... LIBRARIES lib... SECONDS n SEEDS dir-or-file...)
#
# libFuzzer needs clang, the project builds with g++: each fuzzer is its own small
# CMake project (generated into the build tree, configured with clang++) that
# compiles the harness and the control/ sources it needs with
# -fsanitize=fuzzer,address,undefined. It builds with the rest (`make`, `make test`);
# the binary is <build>/tests/fuzz/NAME/bin/fuzz_NAME.
#
# The short run is a ctest named "fuzz: NAME" (label fuzz) of SECONDS; long.sh in the
# fuzzer's folder runs the long campaign for `make fuzz`. Both go through run.sh,
# which seeds a fresh corpus from SEEDS (paths relative to the source tree).
include_guard(GLOBAL)
include(ExternalProject)

find_program(JULIER_FUZZ_CXX NAMES clang++ clang++-14)

function(julier_clang_fuzzer name)
  cmake_parse_arguments(F "" "SECONDS" "SOURCES;LIBRARIES;SEEDS" ${ARGN})
  if(NOT JULIER_FUZZ_CXX)
    message(WARNING "clang++ not found: fuzzer ${name} is not built")
    return()
  endif()
  set(project_dir ${CMAKE_CURRENT_BINARY_DIR}/project)
  set(bin_dir ${CMAKE_CURRENT_BINARY_DIR}/bin)
  set(JULIER_FUZZ_NAME ${name})
  set(JULIER_FUZZ_SOURCES "")
  foreach(src ${F_SOURCES})
    string(APPEND JULIER_FUZZ_SOURCES " ${PROJECT_SOURCE_DIR}/${src}")
  endforeach()
  set(JULIER_FUZZ_LIBRARIES "${F_LIBRARIES}")
  configure_file(${CMAKE_CURRENT_FUNCTION_LIST_DIR}/clang_project.cmake.in ${project_dir}/CMakeLists.txt @ONLY)

  ExternalProject_Add(fuzz_${name}
    SOURCE_DIR ${project_dir}
    BINARY_DIR ${CMAKE_CURRENT_BINARY_DIR}/clang-build
    CMAKE_ARGS -DCMAKE_CXX_COMPILER=${JULIER_FUZZ_CXX} -DCMAKE_BUILD_TYPE=Debug
               -DCMAKE_RUNTIME_OUTPUT_DIRECTORY=${bin_dir}
    BUILD_ALWAYS ON
    INSTALL_COMMAND ""
    BUILD_BYPRODUCTS ${bin_dir}/fuzz_${name})

  set(seeds "")
  foreach(seed ${F_SEEDS})
    list(APPEND seeds ${PROJECT_SOURCE_DIR}/${seed})
  endforeach()
  add_test(NAME "fuzz: ${name}"
           COMMAND bash ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/run.sh ${bin_dir}/fuzz_${name}
                   ${CMAKE_CURRENT_BINARY_DIR}/short ${F_SECONDS} ${seeds})
  set_tests_properties("fuzz: ${name}" PROPERTIES LABELS fuzz TIMEOUT 120)
endfunction()
