//! Reconstruction: timeline, scope, incidents and built-in analytics
