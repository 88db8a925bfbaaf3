// The NAT network 'lan' (192.168.250.0/24 with a DHCP range) that the end-to-end
// network tests start: a udhcpc client in dhcp-nat, the test guest in e2e/network-guest.
export const NAT_LAN_XML = `<network>
  <name>lan</name>
  <forward mode='nat'/>
  <ip address='192.168.250.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.250.100' end='192.168.250.200'/></dhcp>
  </ip>
</network>
`;
