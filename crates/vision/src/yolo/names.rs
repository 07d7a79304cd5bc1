//! Class names from Ultralytics' ONNX metadata: `names` holds a Python dict literal such as
//! `{0: 'person', 1: "traffic light"}`.

/// Parses the `names` metadata; `None` when it is not a dict of int → string.
pub fn parse_names(text: &str) -> Option<Vec<String>> {
    let mut chars = text.trim().chars().peekable();
    if chars.next()? != '{' {
        return None;
    }
    let mut pairs: Vec<(usize, String)> = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if *chars.peek()? == '}' {
            break;
        }
        let mut digits = String::new();
        while let Some(c) = chars.peek().copied().filter(char::is_ascii_digit) {
            digits.push(c);
            chars.next();
        }
        let index: usize = digits.parse().ok()?;
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next()? != ':' {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let quote = chars.next().filter(|c| *c == '\'' || *c == '"')?;
        let mut name = String::new();
        loop {
            match chars.next()? {
                '\\' => name.push(chars.next()?),
                c if c == quote => break,
                c => name.push(c),
            }
        }
        pairs.push((index, name));
    }
    pairs.sort_by_key(|(i, _)| *i);
    if pairs.iter().enumerate().any(|(i, (index, _))| i != *index) {
        return None;
    }
    Some(pairs.into_iter().map(|(_, name)| name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_dicts_parse() {
        assert_eq!(
            parse_names("{0: 'cat', 1: \"traffic light\", 2: 'it\\'s'}"),
            Some(vec![
                "cat".to_string(),
                "traffic light".into(),
                "it's".into()
            ])
        );
        assert_eq!(parse_names("{}"), Some(vec![]));
        assert_eq!(parse_names("[1, 2]"), None);
        assert_eq!(parse_names("{0: 'a', 2: 'b'}"), None);
    }
}
