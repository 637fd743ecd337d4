fn main() {} // placeholder: the Sigma engineer replaces this with the real benchmark
