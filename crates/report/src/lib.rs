//! Assessment outputs: HTML report, JSON, STIX 2.1 bundle, Navigator layer, containment lists
