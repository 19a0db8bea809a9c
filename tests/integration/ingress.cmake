# ingress integration tests: the real binary against a real redis-server on free ports
sg_add_shell_test(ingress_basic ${CMAKE_CURRENT_SOURCE_DIR}/integration/ingress_basic.sh integration TIMEOUT 180)
sg_add_shell_test(ingress_redis ${CMAKE_CURRENT_SOURCE_DIR}/integration/ingress_redis.sh integration TIMEOUT 180)
sg_add_shell_test(ingress_lifecycle ${CMAKE_CURRENT_SOURCE_DIR}/integration/ingress_lifecycle.sh integration TIMEOUT 120)
sg_add_shell_test(ingress_hostile ${CMAKE_CURRENT_SOURCE_DIR}/integration/ingress_hostile.sh integration TIMEOUT 180)
