//! Deterministic generator of kahu's demonstration intrusion case
