# ingress integration tests: the real binary against a real redis-server on free ports
if(TARGET singularity-ingress)
  sg_add_shell_test(ingress_basic integration/ingress_basic.sh integration TIMEOUT 180)
endif()
