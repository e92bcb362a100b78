// mazu-nat.click: Click's classic NAT gateway (conf/mazu-nat.click),
// adapted to a chain hop's two NICs: the interfaces are declared once
// with AddressInfo, a static routing table picks the face, IPRewriter and
// ICMPPingRewriter map the inside's flows to the public address, and
// ICMP errors are both sent (TTL expired on the way out, so traceroute
// sees this hop) and translated back (errors from outside about a mapped
// flow, so traceroute sees the far end). What the original also does
// with the host (ToHost, FTPPortMapper) has no place in a VM.
//
// Chain hop contract: click-configs/chains/README.md. IN_NET/OUT_NET
// are the two sides' networks; PUBLIC the address the inside hides
// behind (the right side's gateway).
define($IN_DEV h0in, $OUT_DEV h0out,
       $IN_MAC 02:6d:00:00:00:00, $OUT_MAC 02:6d:00:00:00:01,
       $IN_IP 10.10.1.1, $OUT_IP 10.10.2.1,
       $IN_ARP 10.10.1.1/32, $OUT_ARP 10.10.2.1/32,
       $IN_NET 10.10.1.0/24, $OUT_NET 10.10.2.0/24,
       $PUBLIC 10.10.2.1);

AddressInfo(
  intern  $IN_IP   $IN_NET   $IN_MAC,
  extern  $OUT_IP  $OUT_NET  $OUT_MAC,
  public  $PUBLIC
);

// DEVICE SETUP
to_in  :: Queue(1024) -> ToDevice($IN_DEV);
to_out :: Queue(1024) -> ToDevice($OUT_DEV);
cin  :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
cout :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
FromDevice($IN_DEV) -> cin;
FromDevice($OUT_DEV) -> cout;
ScheduleInfo(to_in 1, to_out 1);

// ARP
cin[0]  -> ARPResponder($IN_ARP $IN_MAC) -> to_in;
cout[0] -> ARPResponder($OUT_ARP $OUT_MAC) -> to_out;
intern_arpq :: ARPQuerier(intern) -> to_in;
extern_arpq :: ARPQuerier(extern) -> to_out;
cin[1]  -> [1]intern_arpq;
cout[1] -> [1]extern_arpq;
cin[3]  -> Discard;
cout[3] -> Discard;

// ROUTING: output 0 is the inside, 1 the outside (default).
rt :: StaticIPLookup(intern:ipnet 0, extern:ipnet 1, 0.0.0.0/0 1);
rt[0] -> intern_arpq;
rt[1] -> extern_arpq;

// REWRITERS: output 0 leads out, output 1 back in.
rw   :: IPRewriter(pattern public 1024-65535 - - 0 1, drop);
ping :: ICMPPingRewriter(pattern public - - - 0 1, drop);
icmp_rw :: ICMPRewriter(rw ping);
rw[0] -> rt; rw[1] -> rt;
ping[0] -> rt; ping[1] -> rt;
icmp_rw[0] -> rt;
icmp_rw[1] -> Discard;

// FROM THE INSIDE: TTL checked here, expired packets answered.
cin[2] -> Strip(14) -> CheckIPHeader
       -> in_ttl :: DecIPTTL
       -> lcls :: IPClassifier(tcp or udp, icmp type echo, -);
in_ttl[1] -> ICMPError(intern, timeexceeded) -> rt;
lcls[0] -> [0]rw;
lcls[1] -> [0]ping;
lcls[2] -> Discard;

// FROM THE OUTSIDE: replies, and errors about mapped flows.
cout[2] -> Strip(14) -> CheckIPHeader
        -> rcls :: IPClassifier(dst host public and (tcp or udp),
                                dst host public and icmp type echo-reply,
                                dst host public and (icmp type unreachable or icmp type timeexceeded),
                                -);
rcls[0] -> [1]rw;
rcls[1] -> [1]ping;
rcls[2] -> icmp_rw;
rcls[3] -> Discard;
