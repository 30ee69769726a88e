"""Code verifiers: Python test judges, C/C++ compilers, stdin/stdout execution, remote builds, custom commands."""
