//! The text log line: `TIME LEVEL target: message name=value …`, the shape of
//! `tracing-subscriber`'s compact format, written at a fraction of its cost.
//!
//! Why our own: the server logs a line per request, and under callgrind the compact format spent
//! about 15,000 instructions on each (a tenth of a whole authenticated GET), most of them
//! painting every field name through `nu-ansi-term` (even with colours off) and quoting strings
//! through `Debug`. This writes plain values as they are, quotes only those that need it, and
//! colours only the level, only on a terminal.
//!
//! Every value is made safe for a line-oriented reader: control characters (a newline, an
//! escape sequence a client smuggled into a field) are written escaped, so one event is always
//! one line and nothing reaches a terminal as a command.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The text format of a log line.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TextLine;

impl<S, N> FormatEvent<S, N> for TextLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        SystemTime.format_time(&mut writer)?;
        let metadata = event.metadata();
        let level = match *metadata.level() {
            Level::ERROR => "ERROR",
            Level::WARN => " WARN",
            Level::INFO => " INFO",
            Level::DEBUG => "DEBUG",
            Level::TRACE => "TRACE",
        };
        if writer.has_ansi_escapes() {
            let colour = match *metadata.level() {
                Level::ERROR => "31",
                Level::WARN => "33",
                Level::INFO => "32",
                Level::DEBUG => "34",
                Level::TRACE => "35",
            };
            write!(writer, " \x1b[{colour}m{level}\x1b[0m ")?;
        } else {
            write!(writer, " {level} ")?;
        }
        // The spans the event happened in, outermost first, with the fields they were given
        // (formatted once, when each was made).
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                writer.write_str(span.name())?;
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    write!(writer, "{{{fields}}}")?;
                }
                writer.write_str(": ")?;
            }
        }
        writer.write_str(metadata.target())?;
        writer.write_char(':')?;
        let mut fields = Fields {
            writer: &mut writer,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// Writes an event's fields: the message as it is, every other field as ` name=value`.
struct Fields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    result: fmt::Result,
}

impl Fields<'_, '_> {
    fn name(&mut self, field: &Field) -> fmt::Result {
        self.writer.write_char(' ')?;
        if field.name() != "message" {
            self.writer.write_str(field.name())?;
            self.writer.write_char('=')?;
        }
        Ok(())
    }
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        self.result = self.name(field).and_then(|()| {
            if is_plain(value) {
                // Nothing to escape: the common case (ids, routes, names), written as it is.
                self.writer.write_str(value)
            } else if field.name() == "message" {
                Escaped(self.writer).write_str(value)
            } else {
                // Quoted, so that the value's spaces, quotes or `=` can't pass for more fields.
                self.writer.write_char('"')?;
                Escaped(self.writer).write_str(value)?;
                self.writer.write_char('"')
            }
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        self.result = self
            .name(field)
            .and_then(|()| write!(Escaped(self.writer), "{value:?}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_number(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_number(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.record_number(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record_number(field, value);
    }
}

impl Fields<'_, '_> {
    fn record_number(&mut self, field: &Field, value: impl fmt::Display) {
        if self.result.is_err() {
            return;
        }
        self.result = self
            .name(field)
            .and_then(|()| write!(self.writer, "{value}"));
    }
}

/// A value that reads unambiguously unquoted: printable ASCII, without spaces, quotes or `=`.
fn is_plain(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'=')
}

/// Writes through to the line, escaping control characters (C0, DEL and C1), so that a value
/// can neither end the line nor send a terminal an escape sequence.
struct Escaped<'a, 'w>(&'a mut Writer<'w>);

impl Write for Escaped<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        // Scanning bytes, not chars: a control character is encoded as a byte below 0x20, as
        // 0x7f, or (C1, U+0080 to U+009F) as 0xc2 and one more byte; no other character's
        // encoding holds those bytes, except 0xc2 leading U+00A0 to U+00BF, told apart below.
        while let Some(at) = rest
            .bytes()
            .position(|b| b < 0x20 || b == 0x7f || b == 0xc2)
        {
            let character = rest[at..].chars().next().unwrap_or_default();
            let end = at + character.len_utf8();
            if !character.is_control() {
                // A 0xc2 that starts a printable character (U+00A0 to U+00BF).
                self.0.write_str(&rest[..end])?;
            } else {
                self.0.write_str(&rest[..at])?;
                match character {
                    '\n' => self.0.write_str("\\n")?,
                    '\r' => self.0.write_str("\\r")?,
                    '\t' => self.0.write_str("\\t")?,
                    other => write!(self.0, "\\u{{{:x}}}", u32::from(other))?,
                }
            }
            rest = &rest[end..];
        }
        self.0.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// Collects what is logged.
    #[derive(Clone, Default)]
    struct Collected(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Collected {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Collected {
        type Writer = Self;

        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    /// What `log` logs, through the format, without colours.
    fn logged(log: impl FnOnce()) -> String {
        let collected = Collected::default();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .event_format(TextLine)
            .with_max_level(Level::TRACE)
            .with_writer(collected.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(collected.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_line_has_time_level_target_message_and_fields() {
        let line = logged(|| {
            tracing::info!(
                method = "GET",
                route = "/v1/customers/{customer_id}",
                status = 200_u16,
                latency_ms = 1.5,
                cached = true,
                tenant = %"00000000-0000-4000-8000-000000000001",
                "request finished"
            );
        });
        let (time, rest) = line.split_once(' ').unwrap();
        assert!(time.ends_with('Z') && time.contains('T'), "{line}");
        assert_eq!(
            rest.trim_start(),
            "INFO qualify::telemetry::line::tests: request finished method=GET \
             route=/v1/customers/{customer_id} status=200 latency_ms=1.5 cached=true \
             tenant=00000000-0000-4000-8000-000000000001\n"
        );
    }

    #[test]
    fn values_that_could_pass_for_more_fields_are_quoted() {
        let line = logged(|| tracing::warn!(reason = "two words", eq = "a=b", empty = "", "x"));
        assert!(
            line.ends_with(" x reason=\"two words\" eq=\"a=b\" empty=\"\"\n"),
            "{line}"
        );
    }

    #[test]
    fn control_characters_never_end_the_line_or_reach_the_terminal() {
        let hostile = "evil\nINFO forged line\x1b[31m\u{9b}";
        let line = logged(|| {
            tracing::error!(value = hostile, shown = %hostile, "a {hostile} message");
        });
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(!line.contains('\x1b') && !line.contains('\u{9b}'), "{line}");
        assert!(
            line.contains(r#"value="evil\nINFO forged line\u{1b}[31m\u{9b}""#),
            "{line}"
        );
        assert!(line.contains(r"a evil\nINFO forged line"), "{line}");
    }

    #[test]
    fn printable_characters_beyond_ascii_are_kept() {
        let line = logged(|| tracing::info!(name = "Zoë\u{a0}Ltd ¿", "ünïcode"));
        assert!(
            line.ends_with(" ünïcode name=\"Zoë\u{a0}Ltd ¿\"\n"),
            "{line}"
        );
    }

    #[test]
    fn an_event_in_a_span_names_the_span_and_its_fields() {
        let line = logged(|| {
            let span = tracing::info_span!("request", request_id = "r-1");
            let _entered = span.enter();
            tracing::info!("decided");
        });
        assert!(
            line.contains(
                " INFO request{request_id=\"r-1\"}: qualify::telemetry::line::tests: decided"
            ),
            "{line}"
        );
    }
}
