// IPEncap, checked against Click 2.1: protocol names and numbers, TTL,
// DSCP with CE, DF, TOS, and DST_ANNO; StripIPHeader removing it again.
FromDump($IN, STOP true) -> Strip(14) -> MarkIPHeader -> t :: Tee(4);
t[0] -> IPEncap(ipip, 18.26.4.24, 140.247.60.147) -> ToDump($OUT/ipip.pcap, ENCAP IP);
t[1] -> IPEncap(17, 1.2.3.4, 5.6.7.8, TTL 9, DSCP 10, CE true, DF true)
  -> ToDump($OUT/flags.pcap, ENCAP IP);
t[2] -> GetIPAddress(12) -> IPEncap(tcp, 10.1.1.1, DST_ANNO, TOS 7, ECT false)
  -> ToDump($OUT/anno.pcap, ENCAP IP);
t[3] -> IPEncap(4, 1.1.1.1, 2.2.2.2) -> StripIPHeader -> ToDump($OUT/stripped.pcap, ENCAP IP);
DriverManager(wait_stop, stop);
