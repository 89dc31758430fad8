# rampart_test(NAME SOURCES... LIBS ... LABEL unit|integration [TIMEOUT seconds] [LOCK name])
# Registers every TEST() in the binary with ctest without running the binary at build time.
# TIMEOUT (default 120) bounds each test case. LOCK: ctest runs no two tests holding the same
# lock at once (RESOURCE_LOCK), e.g. the tests that each bring up a whole cluster.
function(rampart_test name)
  cmake_parse_arguments(T "" "LABEL;TIMEOUT;LOCK" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gmock GTest::gtest_main)
  rampart_warnings(${name})
  set(lock "")
  if(T_LOCK)
    set(lock RESOURCE_LOCK ${T_LOCK})
  endif()
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
                       PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT} ${lock})
endfunction()
