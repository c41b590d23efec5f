# target: stdio
# expect: timeout
# attack: burn CPU while ignoring the CPU-limit signal and SIGTERM
import signal
signal.signal(signal.SIGXCPU, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    pass
