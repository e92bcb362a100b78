// The four IP route tables on one route set, checked against Click 2.1:
// each output's packets go to a pcap per table, then each prints its
// `table` handler (RadixIPLookup's and DirectIPLookup's list routes in
// an order of their structures this engine does not reproduce: left out).
src :: FromDump($IN, STOP true) -> Strip(14) -> CheckIPHeader -> GetIPAddress(16)
  -> t :: Tee(4);
t[0] -> static :: StaticIPLookup(10.1.0.0/16 10.0.0.254 1, 10.1.200.0/24 2, 192.168.0.0/16 192.168.0.1 3, 192.168.1.0/24 0, 0.0.0.0/0 10.0.0.1 4);
static[0] -> ToDump($OUT/static-0.pcap, ENCAP IP);
static[1] -> ToDump($OUT/static-1.pcap, ENCAP IP);
static[2] -> ToDump($OUT/static-2.pcap, ENCAP IP);
static[3] -> ToDump($OUT/static-3.pcap, ENCAP IP);
static[4] -> ToDump($OUT/static-4.pcap, ENCAP IP);
t[1] -> linear :: LinearIPLookup(10.1.0.0/16 10.0.0.254 1, 10.1.200.0/24 2, 192.168.0.0/16 192.168.0.1 3, 192.168.1.0/24 0, 0.0.0.0/0 10.0.0.1 4);
linear[0] -> ToDump($OUT/linear-0.pcap, ENCAP IP);
linear[1] -> ToDump($OUT/linear-1.pcap, ENCAP IP);
linear[2] -> ToDump($OUT/linear-2.pcap, ENCAP IP);
linear[3] -> ToDump($OUT/linear-3.pcap, ENCAP IP);
linear[4] -> ToDump($OUT/linear-4.pcap, ENCAP IP);
t[2] -> radix :: RadixIPLookup(10.1.0.0/16 10.0.0.254 1, 10.1.200.0/24 2, 192.168.0.0/16 192.168.0.1 3, 192.168.1.0/24 0, 0.0.0.0/0 10.0.0.1 4);
radix[0] -> ToDump($OUT/radix-0.pcap, ENCAP IP);
radix[1] -> ToDump($OUT/radix-1.pcap, ENCAP IP);
radix[2] -> ToDump($OUT/radix-2.pcap, ENCAP IP);
radix[3] -> ToDump($OUT/radix-3.pcap, ENCAP IP);
radix[4] -> ToDump($OUT/radix-4.pcap, ENCAP IP);
t[3] -> direct :: DirectIPLookup(10.1.0.0/16 10.0.0.254 1, 10.1.200.0/24 2, 192.168.0.0/16 192.168.0.1 3, 192.168.1.0/24 0, 0.0.0.0/0 10.0.0.1 4);
direct[0] -> ToDump($OUT/direct-0.pcap, ENCAP IP);
direct[1] -> ToDump($OUT/direct-1.pcap, ENCAP IP);
direct[2] -> ToDump($OUT/direct-2.pcap, ENCAP IP);
direct[3] -> ToDump($OUT/direct-3.pcap, ENCAP IP);
direct[4] -> ToDump($OUT/direct-4.pcap, ENCAP IP);
DriverManager(wait_stop,
  print >$OUT/tables.txt linear.table,
  print >>$OUT/tables.txt static.table,
  stop);
