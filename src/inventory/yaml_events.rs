//! YAML text as libyaml's parser events, with each scalar's style and tag.
//!
//! Ansible reads YAML with PyYAML over libyaml (`CParser`); `unsafe-libyaml` is the same
//! libyaml 0.2.5, translated to Rust, so a file parses here exactly where it parses there, and
//! whether a scalar was written plain or quoted (which YAML 1.1 typing needs) is known. The
//! unsafe calls stay in this file: one parser, created, drained into owned events, deleted.

use std::ffi::CStr;
use std::mem::MaybeUninit;

/// Where an event starts: byte offset, 0-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    pub index: usize,
    pub line: usize,
    pub column: usize,
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// One parser event, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias(String),
    Scalar {
        anchor: Option<String>,
        tag: Option<String>,
        value: String,
        style: Style,
    },
    SequenceStart {
        anchor: Option<String>,
        tag: Option<String>,
    },
    SequenceEnd,
    MappingStart {
        anchor: Option<String>,
        tag: Option<String>,
    },
    MappingEnd,
}

/// libyaml's complaint: what (and in what construct) and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub problem: String,
    pub mark: Mark,
    pub context: Option<(String, Mark)>,
}

/// Every event of `text`, with where each starts.
pub fn parse(text: &str) -> Result<Vec<(Event, Mark)>, SyntaxError> {
    let input = text.as_bytes();
    let mut parser: Box<MaybeUninit<unsafe_libyaml::yaml_parser_t>> =
        Box::new(MaybeUninit::uninit());
    let parser = parser.as_mut_ptr();
    // SAFETY: the parser lives in a box that is not moved while libyaml uses it, reads `input`
    // (borrowed for this whole function) and is deleted before returning; each event is
    // copied into owned values before it is deleted.
    unsafe {
        if unsafe_libyaml::yaml_parser_initialize(parser).fail {
            return Err(SyntaxError {
                problem: "cannot start the YAML parser (out of memory)".to_string(),
                mark: Mark::default(),
                context: None,
            });
        }
        unsafe_libyaml::yaml_parser_set_encoding(parser, unsafe_libyaml::YAML_UTF8_ENCODING);
        unsafe_libyaml::yaml_parser_set_input_string(parser, input.as_ptr(), input.len() as u64);
        let mut events = Vec::new();
        let result = loop {
            let mut event = MaybeUninit::<unsafe_libyaml::yaml_event_t>::uninit();
            let event = event.as_mut_ptr();
            if unsafe_libyaml::yaml_parser_parse(parser, event).fail {
                break Err(syntax_error(&*parser));
            }
            let mark = mark(&(*event).start_mark);
            let owned = convert(&*event);
            unsafe_libyaml::yaml_event_delete(event);
            let end = owned == Event::StreamEnd;
            events.push((owned, mark));
            if end {
                break Ok(events);
            }
        };
        unsafe_libyaml::yaml_parser_delete(parser);
        result
    }
}

fn mark(m: &unsafe_libyaml::yaml_mark_t) -> Mark {
    Mark {
        index: m.index as usize,
        line: m.line as usize,
        column: m.column as usize,
    }
}

/// # Safety
/// `ptr` is null or a NUL-terminated string.
unsafe fn text(ptr: *const u8) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: as the caller promises.
    let s = unsafe { CStr::from_ptr(ptr.cast()) };
    Some(s.to_string_lossy().into_owned())
}

/// # Safety
/// `parser` has failed, so its problem fields are set (or null).
unsafe fn syntax_error(parser: &unsafe_libyaml::yaml_parser_t) -> SyntaxError {
    // SAFETY: libyaml sets these to static strings or null.
    let problem = unsafe { text(parser.problem.cast()) }.unwrap_or_else(|| "bad YAML".to_string());
    let context = unsafe { text(parser.context.cast()) }.map(|c| (c, mark(&parser.context_mark)));
    SyntaxError {
        problem,
        mark: mark(&parser.problem_mark),
        context,
    }
}

/// # Safety
/// `event` was filled by a successful `yaml_parser_parse`.
unsafe fn convert(event: &unsafe_libyaml::yaml_event_t) -> Event {
    // SAFETY: the union field read matches the event's type.
    unsafe {
        match event.type_ {
            unsafe_libyaml::YAML_STREAM_START_EVENT => Event::StreamStart,
            unsafe_libyaml::YAML_STREAM_END_EVENT => Event::StreamEnd,
            unsafe_libyaml::YAML_DOCUMENT_START_EVENT => Event::DocumentStart,
            unsafe_libyaml::YAML_DOCUMENT_END_EVENT => Event::DocumentEnd,
            unsafe_libyaml::YAML_ALIAS_EVENT => {
                Event::Alias(text(event.data.alias.anchor).unwrap_or_default())
            }
            unsafe_libyaml::YAML_SCALAR_EVENT => {
                let s = &event.data.scalar;
                let bytes = std::slice::from_raw_parts(s.value, s.length as usize);
                Event::Scalar {
                    anchor: text(s.anchor),
                    tag: text(s.tag),
                    value: String::from_utf8_lossy(bytes).into_owned(),
                    style: match s.style {
                        unsafe_libyaml::YAML_SINGLE_QUOTED_SCALAR_STYLE => Style::SingleQuoted,
                        unsafe_libyaml::YAML_DOUBLE_QUOTED_SCALAR_STYLE => Style::DoubleQuoted,
                        unsafe_libyaml::YAML_LITERAL_SCALAR_STYLE => Style::Literal,
                        unsafe_libyaml::YAML_FOLDED_SCALAR_STYLE => Style::Folded,
                        _ => Style::Plain,
                    },
                }
            }
            unsafe_libyaml::YAML_SEQUENCE_START_EVENT => Event::SequenceStart {
                anchor: text(event.data.sequence_start.anchor),
                tag: text(event.data.sequence_start.tag),
            },
            unsafe_libyaml::YAML_SEQUENCE_END_EVENT => Event::SequenceEnd,
            unsafe_libyaml::YAML_MAPPING_START_EVENT => Event::MappingStart {
                anchor: text(event.data.mapping_start.anchor),
                tag: text(event.data.mapping_start.tag),
            },
            _ => Event::MappingEnd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_keep_their_style_tag_and_position() {
        let events = parse("a: 'x'\nb: !!str 1\n").unwrap();
        let scalars: Vec<_> = events
            .iter()
            .filter_map(|(e, m)| match e {
                Event::Scalar {
                    value, style, tag, ..
                } => Some((value.as_str(), *style, tag.clone(), m.line)),
                _ => None,
            })
            .collect();
        assert_eq!(scalars[0], ("a", Style::Plain, None, 0));
        assert_eq!(scalars[1], ("x", Style::SingleQuoted, None, 0));
        assert_eq!(
            scalars[3],
            (
                "1",
                Style::Plain,
                Some("tag:yaml.org,2002:str".to_string()),
                1
            )
        );
    }

    #[test]
    fn syntax_errors_say_where() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.problem.contains("did not find expected"), "{e:?}");
        assert_eq!(e.mark.line, 1);
        assert!(e.context.is_some());
    }
}
