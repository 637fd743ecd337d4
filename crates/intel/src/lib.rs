//! Threat intelligence for kahu: IOC feeds (STIX 2.1, MISP, CSV) and YARA
