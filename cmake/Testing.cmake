# rampart_test(NAME SOURCES... LIBS ... LABEL unit|integration)
# Registers every TEST() in the binary with ctest without running the binary at build time.
function(rampart_test name)
  cmake_parse_arguments(T "" "LABEL" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gmock GTest::gtest_main)
  rampart_warnings(${name})
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST PROPERTIES LABELS ${T_LABEL} TIMEOUT 120)
endfunction()
