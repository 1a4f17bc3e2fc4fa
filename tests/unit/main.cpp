// The doctest runner for tests/unit. Each TEST_CASE becomes one ctest test.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
