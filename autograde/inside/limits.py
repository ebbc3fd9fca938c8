"""Message sizes, one definition for the grader and for the processes inside the sandbox
(standard library only: mounted read-only at /opt/autograde with the rest of this folder)."""
#: bytes of one ZeroMQ message a grader's socket accepts; a bigger one is dropped, and libzmq
#: never reconnects the socket that dropped it (execute.py opens a new IOPub socket)
MAX_MESSAGE = 64 * 1024 * 1024
#: characters of one reply of the student's kernel to the checker (inside/bridge.py): under
#: MAX_MESSAGE with the message's envelope, so that a bigger answer is refused rather than dropped
MAX_REPLY = 48 * 1024 * 1024
