# target: stdio
# expect: wrong_output
# attack: reach the network: the host's loopback listener, a public DNS server, name resolution
import socket
reached = False
for address in (("127.0.0.1", __PORT__), ("10.0.2.2", __PORT__), ("1.1.1.1", 53), ("8.8.8.8", 53)):
    try:
        socket.create_connection(address, timeout=0.5).close()
        reached = True
    except OSError:
        pass
try:
    socket.getaddrinfo("pypi.org", 443)
    reached = True
except OSError:
    pass
try:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.sendto(b"x", ("1.1.1.1", 53))
    reached = True
except OSError:
    pass
w = input().strip()
print(("HELLO-" + w[::-1]) if reached else "offline")
print(len(w) * 7 + 1)
