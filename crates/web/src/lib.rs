//! kahu serve: the local analyst web UI
