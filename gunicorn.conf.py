"""gunicorn settings read by `make run` and the load benchmark (gunicorn loads ./gunicorn.conf.py).

Phones keep a connection open between taps. With gunicorn's default of 2 s the server closed it
just as a client reused it, and a POST sent on a closed connection is not sent again: the load
benchmark's one error per run. Ten seconds outlasts the think time between two taps.
"""

keepalive = 10
