// VLANEncap and VLANDecap, checked against Click 2.1.
FromDump($IN, STOP true)
  -> c :: Classifier(12/8100, -);
c[0] -> d :: VLANDecap -> t :: Tee -> ToDump($OUT/decap.pcap);
c[1] -> e :: VLANEncap(VLAN_TCI 0x2005) -> ToDump($OUT/encap.pcap);
t[1] -> VLANEncap(VLAN_ID 12, VLAN_PCP 5) -> ToDump($OUT/reencap.pcap);
DriverManager(wait_stop, stop);
