//! Sigma rules for kahu: parse, compile to a matcher, evaluate; correlation rules
