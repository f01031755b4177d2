//! A real DNS server on loopback (hickory-server) serving one zone from
//! memory, for the tests of domains.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::rdata::{A, SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record};
use hickory_server::authority::{Catalog, ZoneType};
use hickory_server::store::in_memory::InMemoryAuthority;
use hickory_server::ServerFuture;

/// A TXT record.
pub fn txt(name: &str, texts: Vec<String>) -> Record {
    Record::from_rdata(
        Name::from_str(name).expect("a DNS name"),
        60,
        RData::TXT(TXT::new(texts)),
    )
}

/// An A record.
pub fn a(name: &str, ip: std::net::Ipv4Addr) -> Record {
    Record::from_rdata(
        Name::from_str(name).expect("a DNS name"),
        60,
        RData::A(A(ip)),
    )
}

/// A server for `zone` (e.g. `example.test.`) holding `records`, on a
/// loopback port free for both UDP and TCP. Records can be added later
/// through the returned authority.
pub async fn server(zone: &str, records: Vec<Record>) -> (SocketAddr, Arc<InMemoryAuthority>) {
    let origin = Name::from_str(zone).expect("a zone name");
    let authority = InMemoryAuthority::empty(origin.clone(), ZoneType::Primary, false);
    let soa = SOA::new(
        Name::from_str(&format!("ns.{zone}")).expect("a name"),
        Name::from_str(&format!("admin.{zone}")).expect("a name"),
        1,
        60,
        60,
        60,
        60,
    );
    authority
        .upsert(Record::from_rdata(origin.clone(), 60, RData::SOA(soa)), 1)
        .await;
    for record in records {
        authority.upsert(record, 1).await;
    }
    let authority = Arc::new(authority);
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![authority.clone()]);
    let (udp, tcp, addr) = loop {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("a UDP port");
        let addr = udp.local_addr().expect("its address");
        if let Ok(tcp) = tokio::net::TcpListener::bind(addr).await {
            break (udp, tcp, addr);
        }
    };
    let mut server = ServerFuture::new(catalog);
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5));
    tokio::spawn(async move {
        let _ = server.block_until_done().await;
    });
    (addr, authority)
}
