//! Python objects ⇄ core [`Value`]s. No schema knowledge here: the core checks the tree.

use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDateAccess, PyDateTime, PyDelta, PyDeltaAccess, PyDict,
    PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTimeAccess, PyTuple, PyTzInfo,
    PyTzInfoAccess,
};

use pyo3::sync::PyOnceLock;

use crate::ocore::mapping::wkt::{self, Civil};
use crate::ocore::mapping::{NativeDepth, NativeFail};
use crate::ocore::{Duration, Value};

/// A `str`'s UTF-8 text, borrowed from the string object, which CPython caches it in: no copy.
///
/// The wheel is abi3 for CPython ≥ 3.9 (`docs/packaging.md`). `PyUnicode_AsUTF8AndSize` joined
/// the limited API only in 3.10, so PyO3 offers `to_str` from there on; but every CPython since
/// 3.3 exports the function with this signature, so the module declares it itself rather than
/// have every Python version pay an encoded copy per string. A lone surrogate raises
/// `UnicodeEncodeError`, as `str.encode()` does.
#[allow(unsafe_code)]
pub(crate) fn utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    extern "C" {
        fn PyUnicode_AsUTF8AndSize(
            unicode: *mut pyo3::ffi::PyObject,
            size: *mut pyo3::ffi::Py_ssize_t,
        ) -> *const std::ffi::c_char;
    }
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live `str` and the GIL is held (a `Bound`); the returned buffer belongs
    // to `s` and lives as long as it, which the borrow `'a` keeps alive.
    let ptr = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size) };
    if ptr.is_null() {
        return Err(PyErr::fetch(s.py()));
    }
    let len = usize::try_from(size).unwrap_or(0);
    // SAFETY: CPython guarantees `len` readable bytes of valid UTF-8 at `ptr` (see above).
    Ok(unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr.cast(), len)) })
}

/// `hms_ffi.Timestamp` and `hms_ffi.Duration`: `datetime`/`timedelta` subclasses that keep the
/// nanoseconds Python's types cannot hold (registered by the package at import).
static NANO_TYPES: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

pub(crate) fn register_types(
    py: Python<'_>,
    timestamp: Py<PyAny>,
    duration: Py<PyAny>,
) -> PyResult<()> {
    NANO_TYPES.set(py, (timestamp, duration)).map_err(|_| {
        pyo3::exceptions::PyRuntimeError::new_err("hms_ffi types are already registered")
    })
}

/// The sub-microsecond nanoseconds an `hms_ffi.Timestamp`/`Duration` carries (0 otherwise).
fn extra_nanos(obj: &Bound<'_, PyAny>, attr: &str) -> i64 {
    obj.getattr(attr)
        .and_then(|n| n.extract::<i64>())
        .unwrap_or(0)
}

/// A walk's failure: a Python error, or nesting past the core's limit.
type Fail = NativeFail<PyErr>;

/// A Python object as a value. Objects of other types become [`Value::Unsupported`], which the
/// core reports at their path. Nesting deeper than the core's native limit is
/// `hms_ffi.ResourceExhausted` with the path, before any stack runs out.
pub(crate) fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    walk(obj, NativeDepth::default())
        .map_err(|f| f.into_native(|e| crate::errors::to_py(obj.py(), e)))
}

fn items<'py>(
    iter: impl Iterator<Item = Bound<'py, PyAny>>,
    depth: NativeDepth,
) -> Result<Value, Fail> {
    let depth = depth.descend()?;
    iter.enumerate()
        .map(|(i, x)| walk(&x, depth).map_err(|f| f.at_index(i)))
        .collect::<Result<Vec<_>, Fail>>()
        .map(Value::List)
}

fn walk(obj: &Bound<'_, PyAny>, depth: NativeDepth) -> Result<Value, Fail> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Int(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::UInt(u));
        }
        return Ok(Value::BigInt(obj.str()?.to_string()));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(utf8(s)?.to_string()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().to_vec()));
    }
    if obj.is_instance_of::<PyByteArray>() || obj.is_instance_of::<PyMemoryView>() {
        let copied = obj.py().get_type::<PyBytes>().call1((obj,))?;
        let copied = copied.cast::<PyBytes>().map_err(PyErr::from)?;
        return Ok(Value::Bytes(copied.as_bytes().to_vec()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let depth = depth.descend()?;
        let mut entries = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = walk(&k, depth)?;
            let value = walk(&v, depth).map_err(|f| f.at_key(&key))?;
            entries.push((key, value));
        }
        return Ok(Value::Map(entries));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return items(l.iter(), depth);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return items(t.iter(), depth);
    }
    if let Ok(dt) = obj.cast::<PyDateTime>() {
        return Ok(datetime_from_py(dt)?);
    }
    if let Ok(td) = obj.cast::<PyDelta>() {
        let micros = i64::from(td.get_days()) * 86_400_000_000
            + i64::from(td.get_seconds()) * 1_000_000
            + i64::from(td.get_microseconds());
        let nanos = i128::from(micros) * 1000 + i128::from(extra_nanos(obj, "nanoseconds"));
        let (seconds, rest) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
        return Ok(Value::Duration(Duration {
            seconds: seconds as i64,
            nanos: rest as i32,
        }));
    }
    // enum.Enum members travel by name.
    if let Ok(name) = obj.getattr("name").and_then(|n| n.extract::<String>()) {
        if obj.hasattr("_value_")? {
            return Ok(Value::String(name));
        }
    }
    Ok(Value::Unsupported(obj.get_type().qualname()?.to_string()))
}

fn datetime_from_py(dt: &Bound<'_, PyDateTime>) -> PyResult<Value> {
    let py = dt.py();
    // Aware datetimes are moved to UTC; naive ones are taken as UTC already.
    let utc_dt = match dt.get_tzinfo() {
        Some(_) => dt
            .call_method1("astimezone", (PyTzInfo::utc(py)?,))?
            .cast_into::<PyDateTime>()?,
        None => dt.clone(),
    };
    let civil = Civil {
        year: i64::from(utc_dt.get_year()),
        month: u32::from(utc_dt.get_month()),
        day: u32::from(utc_dt.get_day()),
        hour: u32::from(utc_dt.get_hour()),
        minute: u32::from(utc_dt.get_minute()),
        second: u32::from(utc_dt.get_second()),
        nanos: utc_dt.get_microsecond() * 1000 + extra_nanos(dt, "nanosecond").clamp(0, 999) as u32,
    };
    Ok(wkt::from_civil(civil).map_or_else(
        |_| Value::Unsupported("datetime out of range".into()),
        Value::Timestamp,
    ))
}

/// A value as a Python object: dicts, lists, `datetime` (UTC-aware), `timedelta`, …
pub(crate) fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null | Value::Unsupported(_) => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::UInt(u) => u.into_pyobject(py)?.into_any(),
        Value::BigInt(s) => py.get_type::<PyInt>().call1((s.as_str(),))?,
        Value::Float(x) => PyFloat::new(py, *x).into_any(),
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::List(items) => {
            let l = PyList::empty(py);
            for x in items {
                l.append(to_py(py, x)?)?;
            }
            l.into_any()
        }
        Value::Map(entries) => {
            let d = PyDict::new(py);
            for (k, x) in entries {
                d.set_item(to_py(py, k)?, to_py(py, x)?)?;
            }
            d.into_any()
        }
        Value::Timestamp(t) => {
            let c = wkt::to_civil(*t);
            let utc = PyTzInfo::utc(py)?;
            let dt = PyDateTime::new(
                py,
                c.year as i32,
                c.month as u8,
                c.day as u8,
                c.hour as u8,
                c.minute as u8,
                c.second as u8,
                c.nanos / 1000,
                Some(&utc),
            )?
            .into_any();
            match (c.nanos % 1000, NANO_TYPES.get(py)) {
                (0, _) | (_, None) => dt,
                (ns, Some((cls, _))) => cls.bind(py).call_method1("_from_datetime", (dt, ns))?,
            }
        }
        Value::Duration(d) => {
            let total = i128::from(d.seconds) * 1_000_000_000 + i128::from(d.nanos);
            let (micros, ns) = (total.div_euclid(1000), total.rem_euclid(1000));
            let days = micros.div_euclid(86_400_000_000);
            let rest = micros.rem_euclid(86_400_000_000);
            let td = PyDelta::new(
                py,
                days as i32,
                (rest / 1_000_000) as i32,
                (rest % 1_000_000) as i32,
                true,
            )?
            .into_any();
            match (ns, NANO_TYPES.get(py)) {
                (0, _) | (_, None) => td,
                (ns, Some((_, cls))) => cls
                    .bind(py)
                    .call_method1("_from_timedelta", (td, ns as i64))?,
            }
        }
    })
}
