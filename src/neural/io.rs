//! Saving and loading learned score models as safetensors files.

use super::conditional::ConditionSpec;
use super::mlp::Mlp;
use super::model::{Core, DdpmMlp, Embedding, NcsnMlp};
use crate::annealed::{BetaSchedule, Vp};
use crate::{Error, Real, Result};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::HashMap;
use std::path::Path;

const FORMAT: &str = "langevin.neural/1";

pub(crate) fn err(reason: impl Into<String>) -> Error {
    Error::ModelFile {
        reason: reason.into(),
    }
}

fn to_bytes<T: Real>(xs: &[T]) -> (Dtype, Vec<u8>) {
    if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>() {
        let b = xs
            .iter()
            .flat_map(|x| (x.to_f64() as f32).to_le_bytes())
            .collect();
        (Dtype::F32, b)
    } else {
        (
            Dtype::F64,
            xs.iter().flat_map(|x| x.to_f64().to_le_bytes()).collect(),
        )
    }
}

fn from_bytes<T: Real>(v: &TensorView<'_>, out: &mut [T]) -> Result<()> {
    let data = v.data();
    match v.dtype() {
        Dtype::F32 => {
            for (o, c) in out.iter_mut().zip(data.chunks_exact(4)) {
                *o = T::c(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64);
            }
        }
        Dtype::F64 => {
            for (o, c) in out.iter_mut().zip(data.chunks_exact(8)) {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                *o = T::c(f64::from_le_bytes(b));
            }
        }
        other => {
            return Err(err(format!(
                "tensor dtype {other:?} is not supported; store F32 or F64"
            )));
        }
    }
    Ok(())
}

pub(crate) fn schedule_tag(b: &BetaSchedule) -> String {
    match *b {
        BetaSchedule::Linear { beta_min, beta_max } => format!("linear:{beta_min},{beta_max}"),
        BetaSchedule::Cosine { s, clip, .. } => format!("cosine:{s},{clip}"),
    }
}

pub(crate) fn parse_schedule(s: &str) -> Result<BetaSchedule> {
    let bad = || {
        err(format!(
            "unknown β schedule {s:?} (expected linear:a,b or cosine:s,clip)"
        ))
    };
    let (kind, args) = s.split_once(':').ok_or_else(bad)?;
    let (a, b) = args.split_once(',').ok_or_else(bad)?;
    let (a, b): (f64, f64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    match kind {
        "linear" => BetaSchedule::linear(a, b),
        "cosine" => BetaSchedule::cosine(a, b),
        _ => Err(bad()),
    }
}

pub(crate) fn list<T: core::fmt::Display>(xs: &[T]) -> String {
    xs.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn parse_list<F: core::str::FromStr>(s: &str, what: &str) -> Result<Vec<F>> {
    s.split(',')
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| err(format!("cannot parse {what} entry {v:?}")))
        })
        .collect()
}

/// Serialises the network with the given extra metadata.
pub(crate) fn serialize<T: Real>(
    core: &Core<T>,
    mut meta: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let net = &core.net;
    meta.insert("format".into(), FORMAT.into());
    meta.insert("dim".into(), core.dim.to_string());
    meta.insert("widths".into(), list(net.widths()));
    meta.insert("activation".into(), "silu".into());
    meta.insert("embedding".into(), core.embedding.tag());
    let mut tensors = Vec::with_capacity(2 * net.layers());
    for l in 0..net.layers() {
        let (wo, wi) = (net.widths()[l + 1], net.widths()[l]);
        tensors.push((
            format!("layers.{l}.weight"),
            vec![wo, wi],
            to_bytes(net.weight(l)),
        ));
        tensors.push((format!("layers.{l}.bias"), vec![wo], to_bytes(net.bias(l))));
    }
    let views = tensors
        .iter()
        .map(|(name, shape, (dt, bytes))| {
            TensorView::new(*dt, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| err(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, Some(meta)).map_err(|e| err(e.to_string()))
}

/// Parses a file: metadata and the network.
pub(crate) fn deserialize<T: Real>(bytes: &[u8]) -> Result<(HashMap<String, String>, Core<T>)> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| err(e.to_string()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let get = |k: &str| {
        meta.get(k).ok_or_else(|| {
            err(format!(
                "metadata key {k:?} missing; a model file needs format, model, dim, widths, \
                 activation and embedding (see the langevin::neural docs)"
            ))
        })
    };
    if get("format")? != FORMAT {
        return Err(err(format!(
            "format {:?} is not {FORMAT:?}",
            get("format")?
        )));
    }
    if get("activation")? != "silu" {
        return Err(err(format!(
            "activation {:?} is not supported (only silu)",
            get("activation")?
        )));
    }
    let dim: usize = get("dim")?.parse().map_err(|_| err("cannot parse dim"))?;
    let widths: Vec<usize> = parse_list(get("widths")?, "widths")?;
    let embedding = Embedding::from_tag(get("embedding")?)
        .ok_or_else(|| err(format!("unknown embedding {:?}", get("embedding")).as_str()))?;
    let cond_len = match meta.get("condition") {
        Some(tag) => ConditionSpec::from_tag(tag)?.features(),
        None => 0,
    };
    if widths.len() < 3
        || widths[0] != dim + embedding.len() + cond_len
        || widths[widths.len() - 1] != dim
    {
        return Err(err(format!(
            "widths {widths:?} do not fit dim {dim} with embedding {:?} and {cond_len} \
             condition features (input d + {} + {cond_len}, output d)",
            embedding,
            embedding.len()
        )));
    }
    let mut net = Mlp::<T>::zeros(&widths)?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| err(e.to_string()))?;
    for l in 0..net.layers() {
        let (wo, wi) = (widths[l + 1], widths[l]);
        for (name, shape, len, off) in [
            (format!("layers.{l}.weight"), vec![wo, wi], wo * wi, 0),
            (format!("layers.{l}.bias"), vec![wo], wo, wo * wi),
        ] {
            let v = st
                .tensor(&name)
                .map_err(|_| err(format!("tensor {name} missing")))?;
            if v.shape() != shape.as_slice() {
                return Err(err(format!(
                    "tensor {name} has shape {:?}, expected {shape:?}",
                    v.shape()
                )));
            }
            let o = net.layer_offset(l) + off;
            from_bytes(&v, &mut net.params_mut()[o..o + len])?;
        }
    }
    if !crate::real::all_finite(net.params()) {
        return Err(err("the weights contain non-finite values"));
    }
    Ok((meta.clone(), Core::from_net(net, dim, embedding, cond_len)))
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| err(format!("cannot write {}: {e}", path.display())))
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))
}

fn check_unconditional<T>(core: &Core<T>) -> Result<()> {
    if core.cond_len > 0 {
        return Err(err(
            "the file holds a conditional model (metadata key \"condition\"); load it with \
             CondNcsnMlp or CondDdpmMlp",
        ));
    }
    Ok(())
}

pub(crate) fn check_model(meta: &HashMap<String, String>, want: &str) -> Result<()> {
    match meta.get("model") {
        Some(m) if m == want => Ok(()),
        other => Err(err(format!(
            "the file holds model {other:?}, not {want:?}; load it with the matching type"
        ))),
    }
}

impl<T: Real> NcsnMlp<T> {
    /// The model as safetensors bytes (see [`NcsnMlp::save`]).
    ///
    /// # Errors
    /// [`Error::ModelFile`] if serialisation fails.
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let mut meta = HashMap::new();
        meta.insert("model".into(), "ncsn".into());
        meta.insert(
            "output".into(),
            "score = f / sigma; embedding of ln(sigma)".into(),
        );
        if let Some(s) = &self.sigmas {
            meta.insert("sigmas".into(), list(s));
        }
        serialize(&self.core, meta)
    }

    /// Writes the model to a safetensors file: tensors `layers.{l}.weight` (`[out, in]`) and
    /// `layers.{l}.bias` (`[out]`) in the scalar type of the model (F32 or F64), and the
    /// metadata `format = langevin.neural/1`, `model = ncsn`, `dim`, `widths`,
    /// `activation = silu`, `embedding` (`raw` or `sinusoidal:m`) and `sigmas` (the trained
    /// levels) — see the module docs for loading a PyTorch or JAX model.
    ///
    /// # Errors
    /// [`Error::ModelFile`] if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_file(path.as_ref(), &self.to_safetensors()?)
    }

    /// Reads a model from safetensors bytes (see [`NcsnMlp::load`]).
    ///
    /// # Errors
    /// As [`NcsnMlp::load`].
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self> {
        let (meta, core) = deserialize::<T>(bytes)?;
        check_model(&meta, "ncsn")?;
        check_unconditional(&core)?;
        let sigmas = match meta.get("sigmas") {
            Some(s) => Some(
                parse_list::<f64>(s, "sigmas")?
                    .into_iter()
                    .map(T::c)
                    .collect(),
            ),
            None => None,
        };
        Ok(Self { core, sigmas })
    }

    /// Reads a model written by [`NcsnMlp::save`] (or by another framework in the same
    /// layout). F32 and F64 tensors both load into either scalar type.
    ///
    /// # Errors
    /// [`Error::ModelFile`] if the file cannot be read, is not safetensors, lacks a
    /// metadata key or tensor, holds another model kind, or has shapes that do not match the
    /// stored architecture or non-finite weights.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_safetensors(&read_file(path.as_ref())?)
    }
}

impl<T: Real> DdpmMlp<T> {
    /// The model as safetensors bytes (see [`DdpmMlp::save`]).
    ///
    /// # Errors
    /// [`Error::ModelFile`] if serialisation fails.
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let mut meta = HashMap::new();
        meta.insert("model".into(), "ddpm".into());
        meta.insert(
            "output".into(),
            "epsilon; score = -epsilon / sigma_t; embedding of t".into(),
        );
        meta.insert("schedule".into(), schedule_tag(&self.sde.schedule()));
        serialize(&self.core, meta)
    }

    /// Writes the model to a safetensors file, as [`NcsnMlp::save`] with `model = ddpm` and
    /// `schedule` (`linear:β₀,β₁` or `cosine:s,clip`) instead of `sigmas`.
    ///
    /// # Errors
    /// [`Error::ModelFile`] if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_file(path.as_ref(), &self.to_safetensors()?)
    }

    /// Reads a model from safetensors bytes.
    ///
    /// # Errors
    /// As [`NcsnMlp::load`], plus an unknown or invalid `schedule`.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self> {
        let (meta, core) = deserialize::<T>(bytes)?;
        check_model(&meta, "ddpm")?;
        check_unconditional(&core)?;
        let sched = parse_schedule(
            meta.get("schedule")
                .ok_or_else(|| err("metadata key \"schedule\" missing"))?,
        )?;
        let sde = Vp::new(core.dim, sched)?;
        Ok(Self { core, sde })
    }

    /// Reads a model written by [`DdpmMlp::save`].
    ///
    /// # Errors
    /// As [`DdpmMlp::from_safetensors`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_safetensors(&read_file(path.as_ref())?)
    }
}
