"""Provider `llamacpp`: a local model served by a llama-cpp-python server that Ripsaw starts and stops.

server.py supervises the server process and talks to it; child.py is that process's entry point.
"""
