//! MITRE ATT&CK knowledge base, actor profiles and explained attribution
