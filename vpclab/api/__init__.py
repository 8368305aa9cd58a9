"""The EC2 API of a running design (``vpclab serve``): moto's EC2 backend holds the design's
objects and answers the API; the calls the emulation can follow become runtime changes."""
