"""A simulated year of the deployment: the real schedule and sensors on a moving clock."""
