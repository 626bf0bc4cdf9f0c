//! Starting and stopping one simulated cluster (in progress).
