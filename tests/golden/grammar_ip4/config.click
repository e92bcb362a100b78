// grammar_ip4: the IPFilter/IPClassifier expression language, one IPFilter
// per expression (each sees every IPv4 packet through a Tee and dumps what
// it allows to g_NN.pcap), then an IPClassifier and an IPFilter with
// several rules where the first match wins. Covers ether host (the MAC
// header kept after Strip), byte tests with masks, relations on fields,
// fragments, src/dst combinations, names, abbreviations and operators.
define($IN input.pcap, $OUT out);

elementclass Out { $n | input -> ToDump($OUT/g_$n.pcap, ENCAP IP) }

src :: FromDump($IN, STOP true);
src -> eth :: Classifier(12/0800, -) -> Strip(14) -> CheckIPHeader -> t :: Tee(77);
eth[1] -> ToDump($OUT/g_other.pcap);
t[0] -> IPFilter(allow ether src host 00:11:22:33:44:55) -> Out(00);
t[1] -> IPFilter(allow ether dst host 00:aa:bb:cc:dd:ee) -> Out(01);
t[2] -> IPFilter(allow ether host 02:00:00:00:00:01) -> Out(02);
t[3] -> IPFilter(allow ip[1] & 0xfc == 0x28) -> Out(03);
t[4] -> IPFilter(allow tcp[13] & 0x12 == 0x12) -> Out(04);
t[5] -> IPFilter(allow udp[2:2] > 5000) -> Out(05);
t[6] -> IPFilter(allow icmp[0] == 8) -> Out(06);
t[7] -> IPFilter(allow transp[0:2] & 0xff00 != 0) -> Out(07);
t[8] -> IPFilter(allow ip tos >= 16) -> Out(08);
t[9] -> IPFilter(allow ip id <= 100) -> Out(09);
t[10] -> IPFilter(allow icmp type > 10) -> Out(10);
t[11] -> IPFilter(allow tcp win != 0) -> Out(11);
t[12] -> IPFilter(allow dst port != 80) -> Out(12);
t[13] -> IPFilter(allow src port <= 1023) -> Out(13);
t[14] -> IPFilter(allow ip len >= 60 && ip len < 100) -> Out(14);
t[15] -> IPFilter(allow ip unfrag) -> Out(15);
t[16] -> IPFilter(allow ip vers 4 and ip hl 5) -> Out(16);
t[17] -> IPFilter(allow ip ect 1) -> Out(17);
t[18] -> IPFilter(allow src or dst host 10.0.0.1) -> Out(18);
t[19] -> IPFilter(allow src and dst net 10.0.0.0/8) -> Out(19);
t[20] -> IPFilter(allow port ssh or domain or www) -> Out(20);
t[21] -> IPFilter(allow igmp or gre or ip proto 50) -> Out(21);
t[22] -> IPFilter(allow !tcp && (udp || icmp)) -> Out(22);
t[23] -> IPFilter(allow tcp dst port 80 syn) -> Out(23);
t[24] -> IPFilter(allow host 10.0.0.2) -> Out(24);
t[25] -> IPFilter(allow 10.0.0.3) -> Out(25);
t[26] -> IPFilter(allow net 192.168.0.0/16) -> Out(26);
t[27] -> IPFilter(allow src 10.0.0.0/24) -> Out(27);
t[28] -> IPFilter(allow port 53) -> Out(28);
t[29] -> IPFilter(allow ip ttl > 64 ? tcp : udp) -> Out(29);
t[30] -> IPFilter(allow dst net 10.0.0.0 mask 255.255.255.0) -> Out(30);
t[31] -> IPFilter(allow ip dscp > 10) -> Out(31);
t[32] -> IPFilter(allow tcp dst port > 1023 and tcp src port < 1024) -> Out(32);
t[33] -> IPFilter(allow dst host != 10.0.0.1) -> Out(33);
t[34] -> IPFilter(allow not src host 10.0.0.1) -> Out(34);
t[35] -> IPFilter(allow ip[6:2] & 0x1fff != 0) -> Out(35);
t[36] -> IPFilter(allow tcp[0:2] = 80 || udp[0:2] = 53) -> Out(36);
t[37] -> IPFilter(allow udp src port bootpc and dst port bootps) -> Out(37);
t[38] -> IPFilter(allow tcpudp port 9) -> Out(38);
t[39] -> IPFilter(allow icmp type echo-reply or icmp type unreachable) -> Out(39);
t[40] -> IPFilter(allow ip ce) -> Out(40);
t[41] -> IPFilter(allow ip proto tcp) -> Out(41);
t[42] -> IPFilter(allow ip ttl != 64 and not ip ttl 128) -> Out(42);
t[43] -> IPFilter(allow tcp opt fin or tcp opt rst or tcp opt urg) -> Out(43);
t[44] -> IPFilter(allow tcp[14:2] >= 512) -> Out(44);
t[45] -> IPFilter(allow ip[8] < 3) -> Out(45);
t[46] -> IPFilter(allow ip[0] & 0x0f > 5) -> Out(46);
t[47] -> IPFilter(allow udp port 67 or 68 or 9) -> Out(47);
t[48] -> IPFilter(allow src net 10.0.0.0/30 or dst net 172.16.0.0/12) -> Out(48);
t[49] -> IPFilter(allow tcp opt psh && tcp opt ack) -> Out(49);
t[50] -> IPFilter(allow dst port >= 1024 && dst port <= 8080) -> Out(50);
t[51] -> IPFilter(allow src port < 1024 || src port > 59999) -> Out(51);
t[52] -> IPFilter(allow ip frag) -> Out(52);
t[53] -> IPFilter(allow true) -> Out(53);
t[54] -> IPFilter(allow false) -> Out(54);
t[55] -> IPFilter(allow 10.0.0.0/24 and fin ack) -> Out(55);
t[56] -> IPFilter(allow dst tcp port 8000 or 8080) -> Out(56);
t[57] -> IPFilter(allow src tcp port & 10 == 8) -> Out(57);
t[58] -> IPFilter(allow src host == 10.0.0.1) -> Out(58);
t[59] -> IPFilter(allow unfrag) -> Out(59);
t[60] -> IPFilter(allow www) -> Out(60);
t[61] -> IPFilter(allow icmp type != 4) -> Out(61);
t[62] -> IPFilter(allow src tcp port != 5) -> Out(62);
t[63] -> IPFilter(allow tcp win & 0xff00 > 0x100) -> Out(63);
t[64] -> IPFilter(allow ip id & 1 = 1) -> Out(64);
t[65] -> IPFilter(allow dst udp port & 0xfff0 = 0x30) -> Out(65);
t[66] -> IPFilter(allow ip tos & 3 = 2) -> Out(66);
t[67] -> IPFilter(allow src and dst host 10.0.0.2) -> Out(67);
t[68] -> IPFilter(allow ether dst host ff:ff:ff:ff:ff:ff or ether src host 02:00:00:00:00:01) -> Out(68);
t[69] -> IPFilter(allow ip ttl >= 64 && ip ttl <= 65 || ip ttl = 1) -> Out(69);
t[70] -> IPFilter(allow (tcp or udp) and not (port 22 or port 53) and src net 10.0.0.0 mask 255.0.0.0) -> Out(70);
t[71] -> IPFilter(allow tcp opt syn ? ip ttl < 64 : ip ttl > 64) -> Out(71);
t[72] -> IPFilter(allow dst net 224.0.0.0/4 || dst host 255.255.255.255) -> Out(72);
t[73] -> IPFilter(allow ip proto > 16) -> Out(73);
t[74] -> IPFilter(allow ip len & 0xfff0 == 0x40) -> Out(74);

c :: IPClassifier(src host 10.0.0.1 && tcp, udp dst port 53 or 67, icmp type echo,
                  ether src host 00:aa:bb:cc:dd:ee, ip ttl < 4, -);
t[75] -> c;
c[0] -> Out(c0);
c[1] -> Out(c1);
c[2] -> Out(c2);
c[3] -> Out(c3);
c[4] -> Out(c4);
c[5] -> Out(c5);
f :: IPFilter(drop ip frag, allow dst port www, 1 src net 192.168.0.0/16,
              2 tcp opt syn and not tcp opt ack, deny icmp, 3 all);
t[76] -> f;
f[0] -> Out(f0);
f[1] -> Out(f1);
f[2] -> Out(f2);
f[3] -> Out(f3);

DriverManager(wait, print "done", stop);
