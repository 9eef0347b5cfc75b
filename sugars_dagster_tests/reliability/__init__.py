"""The fault scenarios (marked reliability): faults in the data, faults in the deployment."""
