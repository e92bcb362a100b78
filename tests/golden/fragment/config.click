// IPFragmenter then IPReassembler, checked against Click 2.1.
FromDump($IN, STOP true) -> Strip(14) -> CheckIPHeader
  -> f :: IPFragmenter(576)
  -> t :: Tee -> EtherEncap(0x0800, 2:0:0:0:0:1, 2:0:0:0:0:2) -> ToDump($OUT/fragments.pcap);
f[1] -> ToDump($OUT/toobig.pcap, ENCAP IP);
t[1] -> IPReassembler -> EtherEncap(0x0800, 2:0:0:0:0:1, 2:0:0:0:0:2) -> ToDump($OUT/reassembled.pcap);
DriverManager(wait_stop, print >$OUT/counts.txt f.fragments, stop);
