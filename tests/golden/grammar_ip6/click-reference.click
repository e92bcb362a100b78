// What real Click ran to write expected/ for config.click: its
// IPClassifier rules as Classifier byte patterns on the Ethernet frame
// (the IP header at 14; IPv4 headers in input.pcap have no options, so
// the IPv4 transport header is at 34, the IPv6 one at 54). A rule that is
// an "or" is several patterns sending to the same dump.
define($IN input.pcap, $OUT out);

elementclass Out { $n | input -> ToDump($OUT/h_$n.pcap) }

FromDump($IN, STOP true) -> c :: Classifier(
  14/60%f0 20/06 56/0050,                                   // 0
  14/60%f0 20/3a 54/80%fe,                                  // 1
  14/60%f0 22/fe80%ffc0,                                    // 2
  14/60%f0 38/20010db8000000000000000000000002 20/11,       // 3
  14/60%f0 21/00%fe,                                        // 4
  14/40%f0 23/06 20/0000%1fff 36/0016,                      // 5 (IPv4)
  14/60%f0 20/06 56/0016,                                   // 5 (IPv6)
  14/60%f0 15/012345%0fffff,                                // 6
  14/40%f0 26/0a000001,                                     // 7
  14/60%f0 20/00,                                           // 8
  14/60%f0 20/2c,                                           // 8
  -);                                                       // 9

o0 :: Out(0); o1 :: Out(1); o2 :: Out(2); o3 :: Out(3); o4 :: Out(4);
o5 :: Out(5); o6 :: Out(6); o7 :: Out(7); o8 :: Out(8); o9 :: Out(9);
c[0] -> o0; c[1] -> o1; c[2] -> o2; c[3] -> o3; c[4] -> o4;
c[5] -> o5; c[6] -> o5; c[7] -> o6; c[8] -> o7; c[9] -> o8; c[10] -> o8;
c[11] -> o9;

DriverManager(wait, print "done", stop);
