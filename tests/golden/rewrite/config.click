// IPRewriter and IPAddrRewriter map inside flows; ICMPRewriter
// translates the ICMP errors that come back about them. Checked against
// Click 2.1.
src :: FromDump($IN, STOP true) -> Strip(14) -> CheckIPHeader
  -> c :: IPClassifier(icmp type 3 or icmp type 11, udp or tcp, -);
rw :: IPRewriter(pattern 1.1.1.1 20000-20099# - - 0 1);
ar :: IPAddrRewriter(pattern 1.1.1.2 - 0 1);
c[1] -> rw;
c[2] -> ar;
rw[0] -> EtherEncap(0x0800, 2:0:0:0:0:1, 2:0:0:0:0:2) -> ToDump($OUT/out-rw.pcap);
ar[0] -> EtherEncap(0x0800, 2:0:0:0:0:1, 2:0:0:0:0:2) -> ToDump($OUT/out-ar.pcap);
rw[1] -> Discard; ar[1] -> Discard;
c[0] -> icr :: ICMPRewriter(rw ar);
icr[0] -> EtherEncap(0x0800, 2:0:0:0:0:2, 2:0:0:0:0:1) -> ToDump($OUT/translated.pcap);
icr[1] -> EtherEncap(0x0800, 2:0:0:0:0:2, 2:0:0:0:0:1) -> ToDump($OUT/untranslated.pcap);
DriverManager(wait_stop, stop);
