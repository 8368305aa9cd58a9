"""The account that the README imports from moto: two peered VPCs, web1 and db1, and a db-sg
that admits Postgres from the web VPC. Start `moto_server -p 5000`, run this, then
`vpclab import --region us-east-1 --endpoint http://127.0.0.1:5000 -o account.yaml`."""

import boto3

ec2 = boto3.client(
    "ec2",
    endpoint_url="http://127.0.0.1:5000",
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)


def named(kind: str, value: str) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": value}]}]


web = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=named("vpc", "web"))["Vpc"]["VpcId"]
db = ec2.create_vpc(CidrBlock="10.2.0.0/16", TagSpecifications=named("vpc", "db"))["Vpc"]["VpcId"]
subnets = {
    vpc: ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    for vpc, cidr in ((web, "10.1.1.0/24"), (db, "10.2.1.0/24"))
}
pcx = ec2.create_vpc_peering_connection(VpcId=web, PeerVpcId=db)["VpcPeeringConnection"][
    "VpcPeeringConnectionId"
]
ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
for vpc, other in ((web, "10.2.0.0/16"), (db, "10.1.0.0/16")):
    table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][0]
    ec2.create_route(
        RouteTableId=table["RouteTableId"], DestinationCidrBlock=other, VpcPeeringConnectionId=pcx
    )
db_sg = ec2.create_security_group(GroupName="db-sg", Description="db", VpcId=db)["GroupId"]
postgres = {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}
ec2.authorize_security_group_ingress(GroupId=db_sg, IpPermissions=[postgres])
image = ec2.describe_images()["Images"][0]["ImageId"]
ec2.run_instances(
    ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnets[web], TagSpecifications=named("instance", "web1")
)
ec2.run_instances(
    ImageId=image,
    MinCount=1,
    MaxCount=1,
    SubnetId=subnets[db],
    SecurityGroupIds=[db_sg],
    TagSpecifications=named("instance", "db1"),
)
