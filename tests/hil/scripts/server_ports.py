# Prints what this board was told about its host server (for the parallel-run test).
import hil_env

print("udp_port", hil_env.PORTS["udp"])
print("tls_port", hil_env.PORTS["tls_echo"])
