//! Encoding of the server's protocol messages (handshake, OK, ERR, EOF, result sets) and
//! decoding of the client's handshake response, as Doris's FE frames them.

use crate::session::{ColumnType, ResultColumn, SqlError};

use super::ProtocolError;

/// Capability bits (MySQL `CLIENT_*`).
pub(crate) mod capability {
    pub(crate) const LONG_FLAG: u32 = 0x0000_0004;
    pub(crate) const CONNECT_WITH_DB: u32 = 0x0000_0008;
    pub(crate) const LOCAL_FILES: u32 = 0x0000_0080;
    pub(crate) const PROTOCOL_41: u32 = 0x0000_0200;
    pub(crate) const SSL: u32 = 0x0000_0800;
    pub(crate) const SECURE_CONNECTION: u32 = 0x0000_8000;
    /// Only checked by tests: the server neither advertises nor reads it.
    #[cfg(test)]
    pub(crate) const MULTI_STATEMENTS: u32 = 0x0001_0000;
    pub(crate) const MULTI_RESULTS: u32 = 0x0002_0000;
    pub(crate) const PLUGIN_AUTH: u32 = 0x0008_0000;
    pub(crate) const CONNECT_ATTRS: u32 = 0x0010_0000;
    pub(crate) const PLUGIN_AUTH_LENENC_CLIENT_DATA: u32 = 0x0020_0000;
    pub(crate) const DEPRECATE_EOF: u32 = 0x0100_0000;

    /// What Doris's FE advertises (no SSL: the simulator has no TLS; no multi-statements:
    /// Doris does not announce them even though it executes them).
    pub(crate) const SERVER: u32 = PROTOCOL_41
        | CONNECT_WITH_DB
        | SECURE_CONNECTION
        | PLUGIN_AUTH
        | CONNECT_ATTRS
        | PLUGIN_AUTH_LENENC_CLIENT_DATA
        | LOCAL_FILES
        | LONG_FLAG
        | DEPRECATE_EOF;
}

/// `SERVER_MORE_RESULTS_EXISTS` status bit.
pub(crate) const STATUS_MORE_RESULTS_EXISTS: u16 = 0x0008;

/// Server version Doris 2.1+ hard-codes in its handshake.
pub(crate) const SERVER_VERSION: &str = "5.7.99";
/// utf8_general_ci, the charset Doris announces and uses for text columns.
pub(crate) const CHARSET_UTF8_GENERAL_CI: u8 = 33;
/// The "binary" charset MySQL uses for numeric and temporal columns.
const CHARSET_BINARY: u16 = 63;
pub(crate) const NATIVE_PASSWORD_PLUGIN: &str = "mysql_native_password";

const HEADER_OK: u8 = 0x00;
const HEADER_EOF: u8 = 0xFE;
const HEADER_ERR: u8 = 0xFF;
/// Text-row marker for SQL NULL.
const NULL_VALUE: u8 = 0xFB;

/// MySQL column type codes.
mod column_type_code {
    pub(super) const DECIMAL_NEW: u8 = 246;
    pub(super) const TINY: u8 = 1;
    pub(super) const SHORT: u8 = 2;
    pub(super) const LONG: u8 = 3;
    pub(super) const FLOAT: u8 = 4;
    pub(super) const DOUBLE: u8 = 5;
    pub(super) const LONGLONG: u8 = 8;
    pub(super) const DATE: u8 = 10;
    pub(super) const DATETIME: u8 = 12;
    pub(super) const VAR_STRING: u8 = 253;
    pub(super) const STRING: u8 = 254;
}

// ---- primitive writers -------------------------------------------------------------------

pub(crate) fn put_lenenc_int(buf: &mut Vec<u8>, value: u64) {
    match value {
        0..=250 => buf.push(value as u8),
        251..=0xFFFF => {
            buf.push(0xFC);
            buf.extend_from_slice(&(value as u16).to_le_bytes());
        }
        0x1_0000..=0xFF_FFFF => {
            buf.push(0xFD);
            buf.extend_from_slice(&(value as u32).to_le_bytes()[..3]);
        }
        _ => {
            buf.push(0xFE);
            buf.extend_from_slice(&value.to_le_bytes());
        }
    }
}

pub(crate) fn put_lenenc_bytes(buf: &mut Vec<u8>, value: &[u8]) {
    put_lenenc_int(buf, value.len() as u64);
    buf.extend_from_slice(value);
}

// ---- server messages ---------------------------------------------------------------------

/// Initial Handshake Packet, protocol version 10.
pub(crate) fn handshake_v10(connection_id: u32, scramble: &[u8; 20]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(128);
    buf.push(10);
    buf.extend_from_slice(SERVER_VERSION.as_bytes());
    buf.push(0);
    buf.extend_from_slice(&connection_id.to_le_bytes());
    buf.extend_from_slice(&scramble[..8]);
    buf.push(0);
    buf.extend_from_slice(&(capability::SERVER as u16).to_le_bytes());
    buf.push(CHARSET_UTF8_GENERAL_CI);
    // Doris reports status flags 0 in its greeting.
    buf.extend_from_slice(&0u16.to_le_bytes());
    buf.extend_from_slice(&((capability::SERVER >> 16) as u16).to_le_bytes());
    // Length of the whole auth data including the trailing NUL.
    buf.push(21);
    buf.extend_from_slice(&[0u8; 10]);
    buf.extend_from_slice(&scramble[8..]);
    buf.push(0);
    buf.extend_from_slice(NATIVE_PASSWORD_PLUGIN.as_bytes());
    buf.push(0);
    buf
}

/// AuthSwitchRequest asking the client to answer the same scramble with
/// `mysql_native_password`.
pub(crate) fn auth_switch_request(scramble: &[u8; 20]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(48);
    buf.push(HEADER_EOF);
    buf.extend_from_slice(NATIVE_PASSWORD_PLUGIN.as_bytes());
    buf.push(0);
    buf.extend_from_slice(scramble);
    buf.push(0);
    buf
}

pub(crate) fn ok_packet(affected_rows: u64, status: u16, info: Option<&str>) -> Vec<u8> {
    let mut buf = Vec::with_capacity(16);
    buf.push(HEADER_OK);
    put_lenenc_int(&mut buf, affected_rows);
    put_lenenc_int(&mut buf, 0); // last insert id
    buf.extend_from_slice(&status.to_le_bytes());
    buf.extend_from_slice(&0u16.to_le_bytes()); // warnings
                                                // Like MySQL and Doris servers, the info text is length-encoded; libmariadb's client
                                                // parses it that way and reports a malformed packet otherwise.
    if let Some(info) = info.filter(|info| !info.is_empty()) {
        put_lenenc_bytes(&mut buf, info.as_bytes());
    }
    buf
}

/// The OK packet that ends a result set when CLIENT_DEPRECATE_EOF is in effect (header 0xFE).
fn result_set_end_ok(status: u16) -> Vec<u8> {
    let mut buf = ok_packet(0, status, None);
    buf[0] = HEADER_EOF;
    buf
}

fn eof_packet(status: u16) -> Vec<u8> {
    let mut buf = Vec::with_capacity(5);
    buf.push(HEADER_EOF);
    buf.extend_from_slice(&0u16.to_le_bytes()); // warnings
    buf.extend_from_slice(&status.to_le_bytes());
    buf
}

pub(crate) fn err_packet(error: &SqlError) -> Vec<u8> {
    let mut buf = Vec::with_capacity(9 + error.message.len());
    buf.push(HEADER_ERR);
    buf.extend_from_slice(&error.code.to_le_bytes());
    buf.push(b'#');
    // SQLSTATE is exactly five characters on the wire.
    let mut state = [b'0'; 5];
    for (slot, byte) in state.iter_mut().zip(error.sql_state.bytes()) {
        *slot = byte;
    }
    buf.extend_from_slice(&state);
    buf.extend_from_slice(error.message.as_bytes());
    buf
}

struct ColumnWire {
    type_code: u8,
    charset: u16,
    /// Display width the FE reports for the type.
    length: u32,
}

fn column_wire(column_type: ColumnType) -> ColumnWire {
    use column_type_code as code;
    let (type_code, charset, length) = match column_type {
        // Doris has no native boolean on the wire: BOOLEAN travels as TINY.
        ColumnType::Boolean | ColumnType::TinyInt => (code::TINY, CHARSET_BINARY, 4),
        ColumnType::SmallInt => (code::SHORT, CHARSET_BINARY, 6),
        ColumnType::Int => (code::LONG, CHARSET_BINARY, 11),
        ColumnType::BigInt => (code::LONGLONG, CHARSET_BINARY, 20),
        // LARGEINT has no MySQL counterpart; Doris falls back to STRING.
        ColumnType::LargeInt => (code::STRING, u16::from(CHARSET_UTF8_GENERAL_CI), 40),
        ColumnType::Float => (code::FLOAT, CHARSET_BINARY, 12),
        ColumnType::Double => (code::DOUBLE, CHARSET_BINARY, 22),
        ColumnType::Decimal => (code::DECIMAL_NEW, CHARSET_BINARY, 40),
        ColumnType::Date => (code::DATE, CHARSET_BINARY, 10),
        ColumnType::DateTime => (code::DATETIME, CHARSET_BINARY, 19),
        ColumnType::Varchar => (code::VAR_STRING, u16::from(CHARSET_UTF8_GENERAL_CI), 65_533),
        ColumnType::String => (code::STRING, u16::from(CHARSET_UTF8_GENERAL_CI), 65_533),
    };
    ColumnWire {
        type_code,
        charset,
        length,
    }
}

/// Column Definition (Protocol::ColumnDefinition41). SHOW and SELECT results carry no
/// schema/table names, like Doris's result sets.
fn column_definition(column: &ResultColumn) -> Vec<u8> {
    let wire = column_wire(column.column_type);
    let mut buf = Vec::with_capacity(32 + 2 * column.name.len());
    put_lenenc_bytes(&mut buf, b"def");
    put_lenenc_bytes(&mut buf, b""); // schema
    put_lenenc_bytes(&mut buf, b""); // table
    put_lenenc_bytes(&mut buf, b""); // org_table
    put_lenenc_bytes(&mut buf, column.name.as_bytes());
    put_lenenc_bytes(&mut buf, column.name.as_bytes()); // org_name
    buf.push(0x0C); // length of the fixed-size fields that follow
    buf.extend_from_slice(&wire.charset.to_le_bytes());
    buf.extend_from_slice(&wire.length.to_le_bytes());
    buf.push(wire.type_code);
    buf.extend_from_slice(&0u16.to_le_bytes()); // flags
    buf.push(0); // decimals
    buf.extend_from_slice(&[0, 0]); // filler
    buf
}

fn text_row(values: &[Option<String>]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(
        values
            .iter()
            .map(|v| v.as_ref().map_or(1, |s| s.len() + 9))
            .sum(),
    );
    for value in values {
        match value {
            Some(text) => put_lenenc_bytes(&mut buf, text.as_bytes()),
            None => buf.push(NULL_VALUE),
        }
    }
    buf
}

/// The packets of one text-protocol result set, in order.
pub(crate) fn result_set_packets<'a>(
    columns: &'a [ResultColumn],
    rows: &'a [Vec<Option<String>>],
    status: u16,
    deprecate_eof: bool,
) -> impl Iterator<Item = Vec<u8>> + 'a {
    let mut count = Vec::with_capacity(9);
    put_lenenc_int(&mut count, columns.len() as u64);
    let metadata_end = (!deprecate_eof).then(|| eof_packet(status));
    let end = if deprecate_eof {
        result_set_end_ok(status)
    } else {
        eof_packet(status)
    };
    std::iter::once(count)
        .chain(columns.iter().map(column_definition))
        .chain(metadata_end)
        .chain(rows.iter().map(|row| text_row(row)))
        .chain(std::iter::once(end))
}

// ---- client messages ---------------------------------------------------------------------

/// Protocol::HandshakeResponse41, the parts the server uses.
#[derive(Debug)]
pub(crate) struct HandshakeResponse {
    pub(crate) capabilities: u32,
    pub(crate) user: String,
    pub(crate) auth_response: Vec<u8>,
    pub(crate) database: Option<String>,
    pub(crate) auth_plugin: Option<String>,
}

/// A cursor over a client payload.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ProtocolError> {
        if self.data.len() < n {
            return Err(ProtocolError::Malformed(what));
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, ProtocolError> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, ProtocolError> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn lenenc_int(&mut self, what: &'static str) -> Result<u64, ProtocolError> {
        let first = self.u8(what)?;
        let width = match first {
            0..=250 => return Ok(u64::from(first)),
            0xFC => 2,
            0xFD => 3,
            0xFE => 8,
            _ => return Err(ProtocolError::Malformed(what)),
        };
        let mut bytes = [0u8; 8];
        bytes[..width].copy_from_slice(self.take(width, what)?);
        Ok(u64::from_le_bytes(bytes))
    }

    fn nul_terminated(&mut self, what: &'static str) -> Result<&'a [u8], ProtocolError> {
        let end = self
            .data
            .iter()
            .position(|&b| b == 0)
            .ok_or(ProtocolError::Malformed(what))?;
        let value = &self.data[..end];
        self.data = &self.data[end + 1..];
        Ok(value)
    }

    /// A NUL-terminated string that some clients leave unterminated at the end of the packet.
    fn optional_nul_terminated(&mut self) -> Option<&'a [u8]> {
        if self.data.is_empty() {
            return None;
        }
        let end = self
            .data
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.data.len());
        let value = &self.data[..end];
        self.data = &self.data[(end + 1).min(self.data.len())..];
        Some(value)
    }
}

fn utf8(bytes: &[u8], what: &'static str) -> Result<String, ProtocolError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtocolError::Malformed(what))
}

/// Length of an SSLRequest packet: capabilities, max packet size, charset, 23 reserved bytes.
const SSL_REQUEST_LEN: usize = 32;

pub(crate) fn parse_handshake_response(payload: &[u8]) -> Result<HandshakeResponse, ProtocolError> {
    let mut reader = Reader { data: payload };
    let capabilities = reader.u32("capability flags")?;
    if capabilities & capability::PROTOCOL_41 == 0 {
        return Err(ProtocolError::Malformed("pre-4.1 handshake response"));
    }
    if capabilities & capability::SSL != 0 && payload.len() == SSL_REQUEST_LEN {
        // The server never advertises SSL, so a client asking for it is misbehaving.
        return Err(ProtocolError::Malformed("SSL requested but not offered"));
    }
    reader.u32("max packet size")?;
    reader.u8("character set")?;
    reader.take(23, "reserved bytes")?;
    let user = utf8(reader.nul_terminated("user name")?, "user name")?;
    let auth_response = if capabilities & capability::PLUGIN_AUTH_LENENC_CLIENT_DATA != 0 {
        let len = reader.lenenc_int("auth response length")?;
        let len =
            usize::try_from(len).map_err(|_| ProtocolError::Malformed("auth response length"))?;
        reader.take(len, "auth response")?.to_vec()
    } else if capabilities & capability::SECURE_CONNECTION != 0 {
        let len = reader.u8("auth response length")?;
        reader.take(usize::from(len), "auth response")?.to_vec()
    } else {
        reader.nul_terminated("auth response")?.to_vec()
    };
    let database = if capabilities & capability::CONNECT_WITH_DB != 0 {
        reader
            .optional_nul_terminated()
            .map(|db| utf8(db, "database"))
            .transpose()?
            .filter(|db| !db.is_empty())
    } else {
        None
    };
    let auth_plugin = if capabilities & capability::PLUGIN_AUTH != 0 {
        reader
            .optional_nul_terminated()
            .map(|p| utf8(p, "auth plugin"))
            .transpose()?
            .filter(|p| !p.is_empty())
    } else {
        None
    };
    // Connection attributes (CLIENT_CONNECT_ATTRS) follow; the simulator has no use for them.
    Ok(HandshakeResponse {
        capabilities,
        user,
        auth_response,
        database,
        auth_plugin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_int_boundaries() {
        let cases: [(u64, &[u8]); 6] = [
            (0, &[0]),
            (250, &[250]),
            (251, &[0xFC, 251, 0]),
            (0xFFFF, &[0xFC, 0xFF, 0xFF]),
            (0x1_0000, &[0xFD, 0, 0, 1]),
            (0x100_0000, &[0xFE, 0, 0, 0, 1, 0, 0, 0, 0]),
        ];
        for (value, expected) in cases {
            let mut buf = Vec::new();
            put_lenenc_int(&mut buf, value);
            assert_eq!(buf, expected, "value {value}");
            let mut reader = Reader { data: &buf };
            assert_eq!(reader.lenenc_int("test").unwrap(), value);
        }
    }

    #[test]
    fn handshake_carries_version_id_scramble_and_plugin() {
        let scramble: [u8; 20] = *b"abcdefghijklmnopqrst";
        let packet = handshake_v10(42, &scramble);
        assert_eq!(packet[0], 10);
        assert_eq!(&packet[1..7], b"5.7.99");
        assert_eq!(packet[7], 0);
        assert_eq!(u32::from_le_bytes(packet[8..12].try_into().unwrap()), 42);
        assert_eq!(&packet[12..20], b"abcdefgh");
        let lower = u16::from_le_bytes(packet[21..23].try_into().unwrap());
        assert_eq!(packet[23], 33);
        let upper = u16::from_le_bytes(packet[26..28].try_into().unwrap());
        let caps = u32::from(lower) | u32::from(upper) << 16;
        assert_eq!(caps, capability::SERVER);
        assert_eq!(caps & capability::MULTI_STATEMENTS, 0);
        assert_eq!(&packet[39..51], b"ijklmnopqrst");
        assert_eq!(packet[51], 0);
        assert!(packet.ends_with(b"mysql_native_password\0"));
    }

    #[test]
    fn err_packet_has_sqlstate_marker() {
        let packet = err_packet(&SqlError {
            code: 1049,
            sql_state: "42000".into(),
            message: "Unknown database 'x'".into(),
        });
        assert_eq!(packet[0], 0xFF);
        assert_eq!(u16::from_le_bytes([packet[1], packet[2]]), 1049);
        assert_eq!(&packet[3..9], b"#42000");
        assert_eq!(&packet[9..], b"Unknown database 'x'");
    }

    #[test]
    fn result_set_framing_follows_deprecate_eof() {
        let columns = vec![ResultColumn::varchar("a")];
        let rows = vec![vec![Some("x".to_owned())], vec![None]];
        let classic: Vec<_> = result_set_packets(&columns, &rows, 0, false).collect();
        assert_eq!(classic.len(), 1 + 1 + 1 + 2 + 1);
        assert_eq!(classic[2], vec![0xFE, 0, 0, 0, 0]);
        assert_eq!(classic[3], vec![1, b'x']);
        assert_eq!(classic[4], vec![0xFB]);
        assert_eq!(classic[5], vec![0xFE, 0, 0, 0, 0]);

        let modern: Vec<_> =
            result_set_packets(&columns, &rows, STATUS_MORE_RESULTS_EXISTS, true).collect();
        assert_eq!(modern.len(), 1 + 1 + 2 + 1);
        assert_eq!(modern[4], vec![0xFE, 0, 0, 0x08, 0, 0, 0]);
    }

    #[test]
    fn column_definition_uses_text_charset_for_strings_and_binary_for_numbers() {
        let varchar = column_definition(&ResultColumn::varchar("Name"));
        let fixed = &varchar[varchar.len() - 13..];
        assert_eq!(fixed[0], 0x0C);
        assert_eq!(u16::from_le_bytes([fixed[1], fixed[2]]), 33);
        assert_eq!(fixed[7], 253);

        let int = column_definition(&ResultColumn {
            name: "n".into(),
            column_type: ColumnType::BigInt,
        });
        let fixed = &int[int.len() - 13..];
        assert_eq!(u16::from_le_bytes([fixed[1], fixed[2]]), 63);
        assert_eq!(fixed[7], 8);
    }

    #[test]
    fn handshake_response_with_lenenc_auth_db_and_plugin() {
        let caps = capability::PROTOCOL_41
            | capability::SECURE_CONNECTION
            | capability::PLUGIN_AUTH
            | capability::PLUGIN_AUTH_LENENC_CLIENT_DATA
            | capability::CONNECT_WITH_DB;
        let mut payload = Vec::new();
        payload.extend_from_slice(&caps.to_le_bytes());
        payload.extend_from_slice(&(1u32 << 24).to_le_bytes());
        payload.push(45);
        payload.extend_from_slice(&[0; 23]);
        payload.extend_from_slice(b"root\0");
        payload.extend_from_slice(&[3, 1, 2, 3]);
        payload.extend_from_slice(b"db1\0");
        payload.extend_from_slice(b"caching_sha2_password\0");
        let parsed = parse_handshake_response(&payload).unwrap();
        assert_eq!(parsed.user, "root");
        assert_eq!(parsed.auth_response, vec![1, 2, 3]);
        assert_eq!(parsed.database.as_deref(), Some("db1"));
        assert_eq!(parsed.auth_plugin.as_deref(), Some("caching_sha2_password"));
    }

    #[test]
    fn truncated_handshake_response_is_malformed() {
        let caps = capability::PROTOCOL_41 | capability::SECURE_CONNECTION;
        let mut payload = caps.to_le_bytes().to_vec();
        payload.extend_from_slice(&[0; 10]);
        assert!(matches!(
            parse_handshake_response(&payload),
            Err(ProtocolError::Malformed(_))
        ));
    }
}
