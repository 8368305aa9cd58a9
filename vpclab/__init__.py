"""vpclab: emulate AWS VPC networking on one Linux machine."""
