"""End-to-end tests of the ``tsunagu`` command line, run as real subprocesses."""
