# Test registration. Every test is a ctest entry so the closing summary covers them all.
# Labels: unit (pure C), fuzz (bounded libFuzzer runs), integration (live PG/Redis/rtserver),
# cli, sdk-php, sdk-js, browser.

# Unit tests: one executable per tests/unit/test_*.c, each a list of plain ASSERT functions.
file(GLOB RT_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${RT_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
  target_link_libraries(${name} PRIVATE rtcore)
  add_test(NAME unit.${name} COMMAND ${name})
  set_tests_properties(unit.${name} PROPERTIES LABELS unit
                       ENVIRONMENT "RT_VECTORS=${CMAKE_SOURCE_DIR}/tests/vectors")
endforeach()

# Fuzz targets: compiled in a separate clang build (-DRT_FUZZ=ON, see scripts/test); the main
# build registers a bounded run of each when told where that build is (RT_FUZZ_BUILD_DIR).
# New inputs go to a scratch dir; the committed corpus is only read.
file(GLOB RT_FUZZERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
if(RT_FUZZ)
  foreach(src ${RT_FUZZERS})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src} ${RTCORE_SOURCES})
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/server/src/core)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${name} PRIVATE PkgConfig::JANSSON PkgConfig::SODIUM PkgConfig::OPENSSL)
  endforeach()
endif()
set(RT_FUZZ_SECONDS 12 CACHE STRING "Seconds each fuzz target runs under ctest")
if(RT_FUZZ_BUILD_DIR)
  foreach(src ${RT_FUZZERS})
    get_filename_component(name ${src} NAME_WE)
    file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz-work/${name})
    add_test(NAME fuzz.${name}
             COMMAND ${RT_FUZZ_BUILD_DIR}/${name} -max_total_time=${RT_FUZZ_SECONDS}
                     -rss_limit_mb=1024 -print_final_stats=1
                     ${CMAKE_BINARY_DIR}/fuzz-work/${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
    set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 120)
  endforeach()
endif()

# Black-box suites driven by node:test / phpunit against real processes. They need the
# services from scripts/services (RT_TEST_PG_URL, RT_TEST_REDIS_URL) and the built binaries.
set(RT_TEST_ENV "RT_BUILD_DIR=${CMAKE_BINARY_DIR}" "RT_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
file(GLOB RT_NODE_TESTS CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/tests/integration/*.test.mjs
     ${CMAKE_SOURCE_DIR}/tests/cli/*.test.mjs)
foreach(src ${RT_NODE_TESTS})
  get_filename_component(dir ${src} DIRECTORY)
  get_filename_component(kind ${dir} NAME)
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME ${kind}.${name} COMMAND node --test --test-force-exit --test-reporter=spec ${src})
  set_tests_properties(${kind}.${name} PROPERTIES LABELS ${kind} ENVIRONMENT "${RT_TEST_ENV}"
                       TIMEOUT 300)
  # The same integration suite against the ASan+UBSan build of rtserver/rtadmin (not for a
  # suite that starts neither: redis_cluster_setup tests the test helper's Redis Cluster).
  if(RT_ASAN_BUILD_DIR AND kind STREQUAL "integration" AND NOT name STREQUAL "redis_cluster_setup")
    add_test(NAME asan.${kind}.${name} COMMAND node --test --test-force-exit --test-reporter=spec ${src})
    set_tests_properties(asan.${kind}.${name} PROPERTIES LABELS asan TIMEOUT 600
      ENVIRONMENT "RT_BUILD_DIR=${RT_ASAN_BUILD_DIR};RT_SOURCE_DIR=${CMAKE_SOURCE_DIR};RT_SANITIZED=1")
  endif()
endforeach()

# The cross-node suites that keep Redis up, once more with the nodes on a private Redis Cluster
# of 3 masters and 3 replicas (RT_TEST_REDIS_CLUSTER=1: cluster_helpers.mjs starts it and the
# nodes run with RT_REDIS_CLUSTER=1). redis_cluster.test.mjs adds the failover.
foreach(name cluster_state_presence cluster_state_queries_limits)
  add_test(NAME rediscluster.${name}
           COMMAND node --test --test-force-exit --test-reporter=spec
                   ${CMAKE_SOURCE_DIR}/tests/integration/${name}.test.mjs)
  set_tests_properties(rediscluster.${name} PROPERTIES LABELS integration TIMEOUT 300
                       ENVIRONMENT "${RT_TEST_ENV};RT_TEST_REDIS_CLUSTER=1")
endforeach()

if(EXISTS ${CMAKE_SOURCE_DIR}/sdk-js/tests)
  file(GLOB RT_SDKJS_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/sdk-js/tests/*.test.mjs)
  foreach(src ${RT_SDKJS_TESTS})
    get_filename_component(name ${src} NAME_WE)
    add_test(NAME sdk-js.${name} COMMAND node --test --test-force-exit --test-reporter=spec ${src})
    set_tests_properties(sdk-js.${name} PROPERTIES LABELS sdk-js ENVIRONMENT "${RT_TEST_ENV}"
                         TIMEOUT 300)
  endforeach()
endif()

if(EXISTS ${CMAKE_SOURCE_DIR}/sdk-php/phpunit.xml)
  add_test(NAME sdk-php.phpunit COMMAND phpunit -c ${CMAKE_SOURCE_DIR}/sdk-php/phpunit.xml)
  set_tests_properties(sdk-php.phpunit PROPERTIES LABELS sdk-php ENVIRONMENT "${RT_TEST_ENV}"
                       TIMEOUT 300)
endif()

# LD_PRELOAD fixture for tests/integration/dns.test.mjs: a getaddrinfo that is slow for
# names under slow-dns.test (shows whether a lookup blocks the event loop).
add_library(slow_getaddrinfo MODULE ${CMAKE_SOURCE_DIR}/tests/fixtures/slow_getaddrinfo.c)
target_link_libraries(slow_getaddrinfo PRIVATE ${CMAKE_DL_LIBS})
