#pragma once
// RAMPART_CHECK: a broken invariant (a bug, never an environmental condition) aborts loudly in
// every build, with the condition, the place and a message.

#include <cstdio>
#include <cstdlib>

#define RAMPART_CHECK(cond, msg)                                                          \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "RAMPART_CHECK failed: %s at %s:%d: %s\n", #cond, __FILE__,    \
                   __LINE__, (msg));                                                      \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
