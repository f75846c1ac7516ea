//! Router tests: every endpoint through `oneshot`, no socket.

use super::*;
use crate::access::AccessLog;
use crate::settings::{Credentials, ServerSettings};
use axum::body::Body;
use axum::http::{HeaderMap, Request};
use bytes::Bytes;
use floe_engine::{
    Engine, EngineSettings, ListenerInfo, ListenerSession, SourceInfo, SourceSession,
};
use floe_proto::frame::{Unit, UnitKind};
use floe_proto::sse;
use futures_util::StreamExt;
use std::time::Duration;
use tower::ServiceExt;

/// `admin:secret`.
const ADMIN: &str = "Basic YWRtaW46c2VjcmV0";
/// `source:hackme`.
const SOURCE: &str = "Basic c291cmNlOmhhY2ttZQ==";
/// `admin:wrong`.
const WRONG: &str = "Basic YWRtaW46d3Jvbmc=";
const HOST: &str = "radio.example:8000";

fn state_with(settings: EngineSettings) -> AppState {
    let credentials = Credentials {
        source_user: "source".into(),
        source_password: "hackme".into(),
        admin_user: "admin".into(),
        admin_password: "secret".into(),
    };
    let listen = SocketAddr::from(([127, 0, 0, 1], 8000));
    AppState::new(
        Engine::new(settings),
        ServerSettings::local(listen, credentials),
        AccessLog::disabled(),
    )
}

fn state() -> AppState {
    state_with(EngineSettings::default())
}

/// A source on `path` that has sent one frame, so the mount is ready.
fn live(state: &AppState, path: &str) -> SourceSession {
    let info = SourceInfo {
        content_type: "audio/mpeg".into(),
        name: Some("Test Radio".into()),
        description: Some("desc".into()),
        genre: Some("test".into()),
        url: Some("http://example.org".into()),
        public: Some(false),
        bitrate: Some(128),
        audio_info: None,
        user_agent: Some("encoder/1.0".into()),
        ip: "192.0.2.1".into(),
    };
    let mut source = state.engine.open_source(path, info).expect("source");
    source.push_units([Unit {
        data: Bytes::from_static(&[0xff; 417]),
        kind: UnitKind::Sync,
        duration_us: 26_000,
    }]);
    assert!(source.mount().is_ready());
    source
}

fn listen(state: &AppState, path: &str, ip: &str) -> ListenerSession {
    let info = ListenerInfo {
        ip: ip.into(),
        user_agent: Some("player <1>".into()),
        icy: false,
    };
    state.engine.add_listener(path, info).expect("listener")
}

fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", HOST);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut req = builder.body(Body::empty()).expect("request");
    req.extensions_mut().insert(Peer {
        client: "198.51.100.9".parse().expect("ip"),
        remote: "198.51.100.9:40000".parse().expect("addr"),
    });
    req
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn send(state: &AppState, req: Request<Body>) -> Reply {
    let response = router(state.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(state: &AppState, uri: &str, headers: &[(&str, &str)]) -> Reply {
    send(state, request("GET", uri, headers)).await
}

async fn admin(state: &AppState, uri: &str) -> Reply {
    get(state, uri, &[("authorization", ADMIN)]).await
}

fn assert_unauthorized(r: &Reply) {
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"Icecast2 Server\"")
    );
}

// ---------------------------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn metadata_update_is_byte_exact_and_reaches_the_mount() {
    let s = state();
    let _src = live(&s, "/live.mp3");
    let r = admin(
        &s,
        "/admin/metadata?mode=updinfo&mount=%2flive%2emp3&song=A%20-%20B",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/xml"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.body,
        "<?xml version=\"1.0\"?>\n<iceresponse><message>Metadata update successful</message><return>1</return></iceresponse>"
    );
    let meta = s
        .engine
        .mount("/live.mp3")
        .and_then(|m| m.current_meta())
        .expect("meta");
    assert_eq!(meta.song, "A - B");

    // libshout's form: artist and title, charset given; the source's own credentials.
    let r = get(
        &s,
        "/admin/metadata.xsl?mode=updinfo&mount=/live.mp3&charset=UTF%2d8&artist=Art&title=T%C3%ADtle",
        &[("authorization", SOURCE)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let meta = s
        .engine
        .mount("/live.mp3")
        .and_then(|m| m.current_meta())
        .expect("meta");
    assert_eq!(meta.artist.as_deref(), Some("Art"));
    assert_eq!(meta.title.as_deref(), Some("Títle"));

    let r = admin(
        &s,
        "/admin/metadata?mode=updinfo&mount=live.mp3&song=x&format=json",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::json!({"iceresponse": {"message": "Metadata update successful", "return": 1}})
    );
}

#[tokio::test]
async fn admin_errors_are_precise() {
    let s = state();
    let _src = live(&s, "/live.mp3");
    assert_unauthorized(&get(&s, "/admin/stats", &[]).await);
    assert_unauthorized(&get(&s, "/admin/stats", &[("authorization", WRONG)]).await);
    // Source credentials do not open server-wide pages.
    assert_unauthorized(&get(&s, "/admin/stats", &[("authorization", SOURCE)]).await);
    assert_unauthorized(&get(&s, "/admin/metadata?mount=/live.mp3&song=x", &[]).await);

    let r = admin(&s, "/admin/metadata?mode=updinfo&song=x").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        "<?xml version=\"1.0\"?>\n<iceresponse><message>Missing parameter</message><return>0</return></iceresponse>"
    );
    let r = admin(&s, "/admin/metadata?mode=updinfo&mount=/live.mp3").await;
    assert_eq!(r.status, 400);
    let r = admin(&s, "/admin/metadata?mode=updinfo&mount=/nope&song=x").await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("Source does not exist"), "{}", r.body);
    let r = admin(&s, "/admin/listclients?mount=/nope&format=json").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["status"], 404);
    let r = admin(&s, "/admin/killclient?mount=/live.mp3&id=999").await;
    assert_eq!(r.status, 404);
    let r = admin(&s, "/admin/killclient?mount=/live.mp3&id=x").await;
    assert_eq!(r.status, 400);

    // libshout's probe and anything unknown: 400, without credentials.
    assert_eq!(get(&s, "/admin/!POKE", &[]).await.status, 400);
    assert_eq!(admin(&s, "/admin/nonsense").await.status, 400);
}

#[tokio::test]
async fn listclients_in_xml_and_json() {
    let s = state();
    let _src = live(&s, "/live.mp3");
    let l = listen(&s, "/live.mp3", "203.0.113.5");
    let id = l.handle().id;
    let r = admin(&s, "/admin/listclients?mount=/live.mp3").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        format!(
            "<?xml version=\"1.0\"?>\n<icestats><source mount=\"/live.mp3\"><Listeners>1</Listeners>\
             <listener id=\"{id}\"><IP>203.0.113.5</IP><UserAgent>player &lt;1&gt;</UserAgent>\
             <Connected>0</Connected><ID>{id}</ID></listener></source></icestats>"
        )
    );
    let r = get(
        &s,
        "/admin/listclients?mount=/live.mp3",
        &[("authorization", ADMIN), ("accept", "application/json")],
    )
    .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let source = &v["icestats"]["source"];
    assert_eq!(source["mount"], "/live.mp3");
    assert_eq!(source["Listeners"], 1);
    assert_eq!(source["listener"][0]["IP"], "203.0.113.5");
    assert_eq!(source["listener"][0]["ID"], id);
}

#[tokio::test]
async fn killclient_moveclients_killsource() {
    let s = state();
    let _a = live(&s, "/a.mp3");
    let _b = live(&s, "/b.mp3");
    let l = listen(&s, "/a.mp3", "203.0.113.5");
    let id = l.handle().id;
    let r = admin(&s, &format!("/admin/killclient?mount=/a.mp3&id={id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(&format!("Client {id} removed")),
        "{}",
        r.body
    );

    let r = admin(&s, "/admin/moveclients?mount=/a.mp3&destination=/b.mp3").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin(&s, "/admin/moveclients?mount=/a.mp3&destination=/none").await;
    assert_eq!(r.status, 404);
    let r = admin(&s, "/admin/moveclients?mount=/a.mp3").await;
    assert_eq!(r.status, 400);

    let r = admin(&s, "/admin/killsource?mount=/b.mp3").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Source Removed"));
    let r = admin(&s, "/admin/killsource?mount=/none").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn listmounts_stats_and_streamlist() {
    let s = state();
    let _a = live(&s, "/a.mp3");
    let _b = live(&s, "/b.mp3");
    let _l = listen(&s, "/a.mp3", "203.0.113.5");
    s.engine
        .set_metadata(
            "/a.mp3",
            None,
            Some("Art".into()),
            Some("Song".into()),
            None,
        )
        .expect("meta");

    let r = admin(&s, "/admin/listmounts").await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with(
        "<?xml version=\"1.0\"?>\n<icestats><source mount=\"/a.mp3\"><fallback></fallback>\
         <listeners>1</listeners><Connected>0</Connected><content-type>audio/mpeg</content-type></source>"
    ), "{}", r.body);
    let v = admin(&s, "/admin/listmounts?format=json").await.json();
    assert_eq!(v["icestats"]["source"][1]["mount"], "/b.mp3");

    let r = admin(&s, "/admin/stats").await;
    assert_eq!(r.status, 200);
    let x = &r.body;
    for want in [
        "<admin>admin@localhost</admin>",
        "<host>localhost</host>",
        "<listeners>1</listeners>",
        "<sources>2</sources>",
        "<source_total_connections>2</source_total_connections>",
        "<server_id>Floe/",
        "<source mount=\"/a.mp3\"><artist>Art</artist><audio_info>bitrate=128</audio_info>\
         <bitrate>128</bitrate><genre>test</genre><listener_peak>1</listener_peak><listeners>1</listeners>\
         <listenurl>http://radio.example:8000/a.mp3</listenurl>",
        "<server_name>Test Radio</server_name>",
        "<source_ip>192.0.2.1</source_ip>",
        "<title>Art - Song</title>",
        "<total_bytes_read>417</total_bytes_read>",
        "<user_agent>encoder/1.0</user_agent>",
    ] {
        assert!(x.contains(want), "missing {want} in {x}");
    }
    let v = admin(&s, "/admin/stats.xsl?format=json").await.json();
    assert_eq!(v["icestats"]["sources"], 2);
    assert_eq!(v["icestats"]["source"][0]["server_name"], "Test Radio");
    assert_eq!(v["icestats"]["source"][0]["listeners"], 1);

    let r = admin(&s, "/admin/streamlist.txt").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "/a.mp3\n/b.mp3\n");
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain")));
    let v = admin(&s, "/admin/streamlist.txt?format=json").await.json();
    assert_eq!(v, serde_json::json!({"mounts": ["/a.mp3", "/b.mp3"]}));
}

#[tokio::test]
async fn shoutcast_admin_cgi() {
    let s = state();
    let _src = live(&s, "/stream");
    let r = get(
        &s,
        "/admin.cgi?pass=hackme&mode=updinfo&song=Cgi%20Song&sid=1",
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let meta = s
        .engine
        .mount("/stream")
        .and_then(|m| m.current_meta())
        .expect("meta");
    assert_eq!(meta.song, "Cgi Song");
    let r = get(&s, "/admin.cgi?pass=secret&mode=updinfo&song=Admin", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(
        &s,
        "/admin.cgi?mode=updinfo&song=Basic",
        &[("authorization", ADMIN)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_unauthorized(&get(&s, "/admin.cgi?pass=wrong&mode=updinfo&song=Nope", &[]).await);
    let meta = s
        .engine
        .mount("/stream")
        .and_then(|m| m.current_meta())
        .expect("meta");
    assert_eq!(meta.song, "Basic");
}

// ---------------------------------------------------------------------------------------------
// Status pages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn status_json_object_then_array_and_hidden_mounts_left_out() {
    let mut settings = EngineSettings::default();
    settings.mounts.insert(
        "/secret.mp3".into(),
        floe_engine::MountSettings {
            hidden: Some(true),
            ..Default::default()
        },
    );
    settings
        .mounts
        .insert("/declared.mp3".into(), Default::default());
    let s = state_with(settings);

    let v = get(&s, "/status-json.xsl", &[]).await.json();
    assert!(v["icestats"].get("source").is_none(), "{v}");
    for key in [
        "admin",
        "host",
        "location",
        "server_id",
        "server_start",
        "server_start_iso8601",
    ] {
        assert!(v["icestats"].get(key).is_some(), "{key}: {v}");
    }

    let _a = live(&s, "/a.mp3");
    let _secret = live(&s, "/secret.mp3");
    s.engine
        .set_metadata("/a.mp3", Some("Artist - Title".into()), None, None, None)
        .expect("meta");
    let r = get(&s, "/status-json.xsl", &[]).await;
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    let v = r.json();
    let src = &v["icestats"]["source"];
    assert!(src.is_object(), "{v}");
    assert_eq!(src["listenurl"], "http://radio.example:8000/a.mp3");
    assert_eq!(src["server_name"], "Test Radio");
    assert_eq!(src["server_description"], "desc");
    assert_eq!(src["server_type"], "audio/mpeg");
    assert_eq!(src["server_url"], "http://example.org");
    assert_eq!(src["genre"], "test");
    assert_eq!(src["title"], "Artist - Title");
    assert_eq!(src["bitrate"], 128);
    assert_eq!(src["listeners"], 0);
    assert!(src["dummy"].is_null() && src.get("dummy").is_some());
    let start = src["stream_start_iso8601"].as_str().expect("iso");
    assert!(start.ends_with("+0000") && start.len() == 24, "{start}");
    assert!(!r.body.contains("secret"), "{}", r.body);

    let _b = live(&s, "/b.mp3");
    let v = get(&s, "/status-json.xsl", &[]).await.json();
    let list = v["icestats"]["source"].as_array().expect("array");
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["listenurl"], "http://radio.example:8000/b.mp3");
}

#[tokio::test]
async fn listen_urls_fall_back_to_the_configured_host() {
    let s = state();
    let _a = live(&s, "/a.mp3");
    let mut req = request("GET", "/status-json.xsl", &[]);
    req.headers_mut().remove("host");
    let v = send(&s, req).await.json();
    assert_eq!(
        v["icestats"]["source"]["listenurl"],
        "http://localhost:8000/a.mp3"
    );
    let v = get(&s, "/api/v1/mounts", &[("x-forwarded-proto", "https")])
        .await
        .json();
    assert_eq!(
        v[0]["stream_url"], "http://radio.example:8000/a.mp3",
        "untrusted proxy"
    );
}

#[tokio::test]
async fn shoutcast_7_html_and_stats() {
    let s = state();
    let r = get(&s, "/7.html", &[]).await;
    assert_eq!(r.body, "<html><body>0,0,0,20000,0,0,</body></html>");
    let _src = live(&s, "/stream");
    let _l1 = listen(&s, "/stream", "203.0.113.5");
    let _l2 = listen(&s, "/stream", "203.0.113.5");
    s.engine
        .set_metadata("/stream", Some("Artist - Title".into()), None, None, None)
        .expect("meta");
    let r = get(&s, "/7.html", &[]).await;
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(
        r.body,
        "<html><body>2,1,2,20000,1,128,Artist - Title</body></html>"
    );

    let r = get(&s, "/stats?sid=1", &[]).await;
    assert_eq!(r.status, 200);
    for want in [
        "<SHOUTCASTSERVER><CURRENTLISTENERS>2</CURRENTLISTENERS><PEAKLISTENERS>2</PEAKLISTENERS>",
        "<UNIQUELISTENERS>1</UNIQUELISTENERS>",
        "<SERVERTITLE>Test Radio</SERVERTITLE><SONGTITLE>Artist - Title</SONGTITLE>",
        "<STREAMSTATUS>1</STREAMSTATUS>",
        "<BITRATE>128</BITRATE>",
        "<STREAMPATH>/stream</STREAMPATH>",
    ] {
        assert!(r.body.contains(want), "missing {want} in {}", r.body);
    }
    let v = get(&s, "/stats?sid=1&json=1", &[]).await.json();
    assert_eq!(v["currentlisteners"], 2);
    assert_eq!(v["songtitle"], "Artist - Title");
    assert_eq!(v["servertitle"], "Test Radio");
}

#[tokio::test]
async fn shoutcast_mount_choice() {
    let s = state();
    let _x = live(&s, "/x.mp3");
    let _y = live(&s, "/y.mp3");
    let pick =
        |sid| status::shoutcast_mount(&s.engine, "/stream", sid, false).map(|m| m.path.clone());
    assert_eq!(
        pick(None).as_deref(),
        Some("/x.mp3"),
        "first live without /stream"
    );
    assert_eq!(pick(Some(2)).as_deref(), Some("/y.mp3"));
    let _st = live(&s, "/stream");
    assert_eq!(pick(Some(1)).as_deref(), Some("/stream"));
}

// ---------------------------------------------------------------------------------------------
// Playlists, API
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn playlists_for_every_mount() {
    let s = state();
    let _src = live(&s, "/live.mp3");
    let _other = live(&s, "/live");
    let url = "http://radio.example:8000/live.mp3";
    for (ext, content_type) in [
        ("m3u", "audio/x-mpegurl"),
        ("pls", "audio/x-scpls"),
        ("xspf", "application/xspf+xml"),
        ("vclt", "audio/x-vclt"),
    ] {
        let r = get(&s, &format!("/live.mp3.{ext}"), &[]).await;
        assert_eq!(r.status, 200, "{ext}");
        assert_eq!(r.header("content-type"), Some(content_type));
        assert!(r.body.contains(url), "{ext}: {}", r.body);
    }
    let r = get(&s, "/live.m3u", &[]).await;
    assert!(
        r.body.contains("http://radio.example:8000/live") && !r.body.contains(".mp3"),
        "{}",
        r.body
    );
    let r = get(&s, "/nothing.m3u", &[]).await;
    assert_eq!(r.status, 404);
    let r = get(&s, "/nothing", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn api_mounts_status_nowplaying() {
    let mut settings = EngineSettings::default();
    settings
        .mounts
        .insert("/declared.mp3".into(), Default::default());
    let s = state_with(settings);
    let _src = live(&s, "/live.mp3");
    let _l = listen(&s, "/live.mp3", "203.0.113.5");
    s.engine
        .set_metadata(
            "/live.mp3",
            None,
            Some("Art".into()),
            Some("Song".into()),
            None,
        )
        .expect("meta");

    let r = get(&s, "/api/v1/mounts", &[]).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let list = v.as_array().expect("array");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["path"], "/declared.mp3");
    assert_eq!(list[0]["live"], false);
    let m = &list[1];
    assert_eq!(m["live"], true);
    assert_eq!(m["stream_url"], "http://radio.example:8000/live.mp3");
    assert_eq!(
        m["playlists"]["pls"],
        "http://radio.example:8000/live.mp3.pls"
    );
    assert_eq!(m["title"], "Song");
    assert_eq!(m["artist"], "Art");
    assert_eq!(m["song"], "Art - Song");
    assert_eq!(m["listeners"], 1);
    assert_eq!(m["bitrate"], 128);
    assert!(m["stream_start"].as_str().is_some_and(|t| t.ends_with('Z')));

    let one = get(&s, "/api/v1/mounts/live.mp3", &[]).await.json();
    assert_eq!(&one, m);
    let r = get(&s, "/api/v1/mounts/none.mp3", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        serde_json::json!({"error": {"status": 404, "message": "Source does not exist"}})
    );

    let r = get(&s, "/api/v1/mounts/live.mp3/listeners", &[]).await;
    assert_unauthorized(&r);
    assert_eq!(r.json()["error"]["status"], 401);
    let r = get(
        &s,
        "/api/v1/mounts/live.mp3/listeners",
        &[("authorization", ADMIN)],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["listeners"][0]["ip"], "203.0.113.5");

    let v = get(&s, "/api/v1/nowplaying", &[]).await.json();
    assert_eq!(
        v,
        serde_json::json!({"/live.mp3": {"song": "Art - Song", "title": "Song", "artist": "Art"}})
    );
    let v = get(&s, "/api/v1/status", &[]).await.json();
    assert_eq!(v["listeners"], 1);
    assert_eq!(v["sources"], 1);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let r = get(&s, "/api/v1/nope", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["status"], 404);
}

// ---------------------------------------------------------------------------------------------
// CORS, web page
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn cors_preflight_anywhere() {
    let s = state();
    for path in ["/live.mp3", "/api/v1/mounts", "/admin/stats"] {
        let r = send(
            &s,
            request("OPTIONS", path, &[("access-control-request-method", "GET")]),
        )
        .await;
        assert_eq!(r.status, 204, "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some(ALLOWED_METHODS)
        );
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("Authorization, Icy-MetaData, Range, Content-Type")
        );
        assert_eq!(r.header("access-control-max-age"), Some("86400"));
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS, PUT, SOURCE"));
    }
}

#[tokio::test]
async fn web_page_and_assets() {
    let s = state();
    let r = get(&s, "/", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("/web/app.js") && r.body.contains("<audio"));
    let r = get(&s, "/web/app.js", &[]).await;
    assert!(r.body.contains("EventSource(\"/api/v1/events\")"));
    assert!(get(&s, "/web/style.css", &[])
        .await
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/css")));
    assert_eq!(get(&s, "/web/other.js", &[]).await.status, 404);
    // HEAD works wherever GET does, without a body.
    let r = send(&s, request("HEAD", "/", &[])).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Server-Sent Events
// ---------------------------------------------------------------------------------------------

async fn next_frame(body: &mut axum::body::BodyDataStream) -> String {
    let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .expect("a frame within 5 s")
        .expect("stream open")
        .expect("chunk");
    String::from_utf8_lossy(&chunk).into_owned()
}

#[tokio::test]
async fn events_start_with_a_snapshot_then_follow_the_bus() {
    let s = state();
    let _a = live(&s, "/a.mp3");
    let _b = live(&s, "/b.mp3");
    s.engine
        .set_metadata("/a.mp3", Some("First".into()), None, None, None)
        .expect("meta");
    let response = router(s.clone())
        .oneshot(request("GET", "/api/v1/events", &[]))
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let mut body = response.into_body().into_data_stream();
    let first = next_frame(&mut body).await;
    let expected = [
        sse::retry(3000),
        sse::event(
            Some("1"),
            Some("now_playing"),
            r#"{"type":"now_playing","mount":"/a.mp3","title":"First"}"#,
        ),
        sse::event(
            Some("2"),
            Some("listeners"),
            r#"{"type":"listeners","mount":"/a.mp3","count":0}"#,
        ),
        sse::event(
            Some("3"),
            Some("listeners"),
            r#"{"type":"listeners","mount":"/b.mp3","count":0}"#,
        ),
    ]
    .concat();
    assert_eq!(first, expected);

    s.engine
        .set_metadata("/b.mp3", Some("Second".into()), None, None, None)
        .expect("meta");
    let next = next_frame(&mut body).await;
    assert_eq!(
        next,
        sse::event(
            Some("4"),
            Some("now_playing"),
            r#"{"type":"now_playing","mount":"/b.mp3","title":"Second"}"#,
        )
    );
}

#[tokio::test]
async fn events_filter_by_mount() {
    let s = state();
    let _a = live(&s, "/a.mp3");
    let _b = live(&s, "/b.mp3");
    let response = router(s.clone())
        .oneshot(request("GET", "/api/v1/events?mount=/b.mp3", &[]))
        .await
        .expect("response");
    let mut body = response.into_body().into_data_stream();
    let first = next_frame(&mut body).await;
    assert!(
        !first.contains("/a.mp3") && first.contains("/b.mp3"),
        "{first}"
    );
    s.engine
        .set_metadata("/a.mp3", Some("A".into()), None, None, None)
        .expect("meta");
    s.engine
        .set_metadata("/b.mp3", Some("B".into()), None, None, None)
        .expect("meta");
    let next = next_frame(&mut body).await;
    assert!(next.contains("\"title\":\"B\""), "{next}");
}

#[tokio::test]
async fn listener_ticker_emits_changes() {
    let s = state();
    let _a = live(&s, "/a.mp3");
    let mut rx = s.engine.subscribe();
    let ticker = spawn_listener_count_ticker(s.engine.clone());
    let _l = listen(&s, "/a.mp3", "203.0.113.5");
    let event = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(e @ floe_engine::Event::Listeners { .. }) = rx.recv().await {
                return e;
            }
        }
    })
    .await
    .expect("a listeners event");
    assert_eq!(
        event,
        floe_engine::Event::Listeners {
            mount: "/a.mp3".into(),
            count: 1
        }
    );
    ticker.abort();
}
