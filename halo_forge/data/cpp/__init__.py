"""C++ versions of the Python benchmarks (humaneval_cpp, mbpp_cpp), translated MultiPL-E style."""
